#!/usr/bin/env bash
# Debian's python3-kubernetes against hs-apiserver (issue 17): runs
# test_python_client.py (list, create, patch a scale, watch until available,
# a pod's log, delete) against a set started as the kubectl suite's.
source "$(dirname "$0")/klib.sh"
/usr/bin/python3 -c 'import kubernetes' 2>/dev/null ||
  { echo "SKIP: no python3-kubernetes (scripts/install-deps installs it)"; exit 77; }
start_kube_set
KUBECONFIG="$HS_PKI/kubeconfig" API_URL="$API_URL" \
  /usr/bin/python3 ${PYSCRIPT:-"$(dirname "$0")/test_python_client.py"} || fail "test_python_client.py"
kill -0 "$API_PID" || fail "hs-apiserver died"
