# Thin wrapper around CMake. The two commands a new user needs:
#   make demo   install what is missing, build, start the set, show it working
#   make test   install what is missing, build, run every test
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all deps build build-asan test test-asan test-fast bench demo demo-down format format-check clean install

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
# under AddressSanitizer + UndefinedBehaviorSanitizer.
test: build build-asan
	scripts/check-format
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 600
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j 2 --timeout 900

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

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
