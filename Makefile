# Thin wrapper around CMake. The two commands a new user needs:
#   make demo   install what is missing, build, start the set, show it working
#   make test   install what is missing, build, run every test
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all deps build build-asan test test-asan test-fast bench demo demo-down demo-ha format format-check clean install
.PHONY: image test-compose

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHS_SANITIZE=ON

build-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# Every test: format check, the normal build's suite, then the same suite
# under AddressSanitizer + UndefinedBehaviorSanitizer. The long system-level
# tests (ctest label `system`: docker compose, the systemd boot, the chaos
# soak, the fuzz smoke runs) run once, in the normal build only.
test: build build-asan
	scripts/check-format
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 900
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j 2 --timeout 900 -LE system

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j 2

test-asan: build-asan
	cd $(ASAN_BUILD) && ctest --output-on-failure -j 2

bench: build
	bench/run-all $(BUILD)

format:
	scripts/check-format --fix

format-check:
	scripts/check-format

demo: build
	scripts/demo

demo-down:
	scripts/demo-down

# make demo-ha: three control-plane members (broker + store) in network
# namespaces, kill -9 the leader during an apply loop, nothing lost (root)
demo-ha: build
	scripts/demo-ha

# docker compose (docker-compose/README.md): the image homeostat:latest from
# this build's binaries, and the end-to-end test of the compose set alone
# (root; `make test` runs it too, as integration.test_compose).
image: build
	docker-compose/build-image $(BUILD)/bin

test-compose: build
	docker-compose/test-compose $(BUILD)/bin

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
