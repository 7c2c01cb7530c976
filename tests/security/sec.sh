# sec.sh: the secured set the attacker tests of tests/security share. Source
# it after lib.sh and hosts.sh.
#
#   sec_up IDENTITY...   two netns hosts; a PKI in $T/pki (mkpki) with a
#                        credential per IDENTITY (store, node:a and admin:root
#                        always); on host 1 a secured hs-bus (BK: its public
#                        key; BUSADDR) and hs-store; `ctl` is hsctl as the admin
#   sec_agent_a          node a's agent on host 1, under its own key, Ready
unset HS_INSECURE # these suites run the bus secured
PY=/usr/bin/python3
"$PY" -c 'import zmq; assert zmq.has("curve")' 2>/dev/null || { echo "SKIP: no python3-zmq with CURVE"; exit 77; }

ctl() { on_host 1 env HS_CREDENTIAL="$PKI/creds/admin-root.cred" "$HS_BIN/hsctl" --bus "$BUSADDR" "$@"; }

sec_up() {
  hosts_up 2
  PKI=$T/pki
  mkpki "$PKI" store node:a admin:root "$@" >"$T/pki.txt"
  BK=$(awk '$1 == "broker" {print $2}' "$T/pki.txt")
  [ ${#BK} = 40 ] || fail "mkpki printed no broker key: $(cat "$T/pki.txt")"
  H1=$(host_ip 1)
  BUSADDR=$H1:7400
  start bus on_host 1 "$HS_BIN/hs-bus" --pki "$PKI" --bind "$H1" --port 7400
  wait_for 10 "hs-bus to pass its self-test" grep -q "self-test: a key not in" "$T/bus.log"
  mkdir -p "$T/store"
  start store on_host 1 env HS_CREDENTIAL="$PKI/creds/store.cred" "$HS_BIN/hs-store" \
    --bus "$BUSADDR" --data "$T/store"
  wait_for 20 "hs-store to answer an admin" ctl get nodes
}

sec_node_a_ready() { local o; o=$(ctl get node a) && grep -q ' Ready' <<<"$o"; }
sec_agent_a() {
  need_root_cgroups
  start agent-a on_host 1 env HS_CREDENTIAL="$PKI/creds/node-a.cred" "$HS_BIN/hs-agent" \
    --bus "$BUSADDR" --node-name a --state-dir "$T/agent-a" --cgroup-parent "$HS_CG_PARENT/a"
  wait_for 20 "node a to register under its own key" sec_node_a_ready
}
