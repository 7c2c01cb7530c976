#!/usr/bin/env bash
# test_compose.sh: the docker compose set end to end, as `make test-compose`
# runs it (docker-compose/test-compose: installs docker.io, docker-compose and
# busybox-static if missing, starts dockerd if none runs, builds the image
# from $HS_BIN, brings the set up, crashes components, scales, tears down).
# Needs root; skipped (77) otherwise. About a minute on 2 cores.
set -euo pipefail
HS_BIN=${HS_BIN:?HS_BIN must point at the build bin directory}
src=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "skipped: test-compose needs root (docker, cgroups)"
  exit 77
fi
exec "$src/docker-compose/test-compose" "$HS_BIN"
