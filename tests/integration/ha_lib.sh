# shellcheck shell=bash
# ha_lib.sh: a 3-member control plane in network namespaces, for the HA
# tests. Source it after lib.sh (it sources hosts.sh).
#
#   ha_up [STORE ARGS...]  hosts 1..3 are control-plane hosts (172.30.0.11-13),
#                    each with an hs-bus broker (:7600) and an hs-store member
#                    s<i> (raft :7700, data $T/s<i>, one shared
#                    --encryption-key $T/encryption.key); host 4 (172.30.0.14) is
#                    the clients' host. HA_BUS lists the three brokers (what
#                    HS_BUS is for every client), HA_PEERS the members. Returns
#                    once a leader serves writes.
#   on_client CMD    runs CMD on the clients' host with HS_BUS=$HA_BUS.
#   ha_leader        prints the leader's name (s1..s3): the member that says
#                    "leader" with the highest term in `hsctl get components`.
#   ha_wait_leader SECS [NOT]  waits for a leader (other than NOT); prints it.
#   ha_role I        member s<I>'s role as it last reported it.
#   ha_field I F     a field of member s<I>'s raft view (term, commitIndex,
#                    appliedIndex, snapshotsInstalled, ...).
#   ha_kill I        kill -9 member s<I>'s hs-store (its broker stays).
#   ha_stop I        SIGTERM it and wait for it to exit (it checkpoints).
#   ha_start I [ARGS...]  (re)starts member s<I> on its data dir.
#   ha_partition I / ha_heal I   cut host I off the fabric / reconnect it
#                    (its veth's fabric end down/up: both directions).
#   ha_digest I      sha256 of member s<I>'s objects, requests and streams
#                    tables (mdb_dump; stop the member first).
#   ha_member_pid I  the pid of member s<I>'s hs-store.
source "$(dirname "${BASH_SOURCE[0]}")/hosts.sh"

HA_N=3
HA_BUS=""
HA_PEERS=""
HA_ET=${HA_ET:-300}
HA_STORE_ARGS=()

on_client() { HS_BUS="$HA_BUS" on_host 4 "$@"; }

ha_up() {
  local i
  command -v mdb_dump >/dev/null || { echo "SKIP: needs mdb_dump (lmdb-utils)"; exit 77; }
  HA_STORE_ARGS=("$@")
  hosts_up 4
  for i in $(seq 1 $HA_N); do
    HA_BUS+="${HA_BUS:+,}$(host_ip "$i"):7600"
    HA_PEERS+="${HA_PEERS:+,}s$i=$(host_ip "$i"):7700"
  done
  export HA_BUS HA_PEERS
  # One Secrets keyring for all members (entries and snapshots carry Secrets
  # sealed by the leader): NAME BASE64, 32 bytes.
  (umask 077; printf 'key-ha %s\n' "$(head -c 32 /dev/urandom | base64)" >"$T/encryption.key")
  for i in $(seq 1 $HA_N); do
    start "bus$i" on_host "$i" "$HS_BIN/hs-bus" --bind "$(host_ip "$i")" --port 7600
  done
  for i in $(seq 1 $HA_N); do
    wait_for 10 "hs-bus on host $i" grep -q "listening on tcp://$(host_ip "$i"):7601" "$T/bus$i.log"
  done
  for i in $(seq 1 $HA_N); do ha_start "$i"; done
  # HA_LEADER: the first leader, for the tests
  # shellcheck disable=SC2034
  HA_LEADER=$(ha_wait_leader 20) || fail "no leader elected within 20 s"
  wait_for 20 "the store to answer through the brokers" on_client "$HS_BIN/hsctl" get nodes
}

ha_start() {
  local i=$1; shift
  mkdir -p "$T/s$i"
  start "store$i" on_host "$i" "$HS_BIN/hs-store" --bus "$HA_BUS" --data "$T/s$i" \
    --member "s$i" --peers "$HA_PEERS" --election-timeout "$HA_ET" \
    --encryption-key "$T/encryption.key" \
    "${HA_STORE_ARGS[@]}" "$@"
}

ha_member_pid() {
  local p
  for p in $(procs_naming "--data $T/s$1 "); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = hs-store ] && { echo "$p"; return 0; }
  done
  return 0
}

ha_kill() {
  local pid
  pid=$(ha_member_pid "$1")
  [ -n "$pid" ] || fail "member s$1 is not running"
  kill -9 "$pid"
  poll_until 5 sh -c "! kill -0 $pid" || fail "s$1 (pid $pid) survived kill -9"
}

ha_stop() {
  local pid
  pid=$(ha_member_pid "$1")
  [ -n "$pid" ] || return 0
  kill "$pid"
  poll_until 15 sh -c "! kill -0 $pid" || { kill -9 "$pid"; fail "s$1 did not stop in 15 s"; }
}

# The raft view of every member heard, as "name role term commit applied
# snapshotsInstalled leader" lines.
ha_view() {
  on_client "$HS_BIN/hsctl" get components -o json 2>/dev/null | python3 -c '
import json, sys
for it in json.load(sys.stdin).get("items", []):
    s = it.get("store")
    if it.get("name") == "hs-store" and s:
        print(it.get("instance"), s.get("role"), s.get("term", 0), s.get("commitIndex", 0),
              s.get("appliedIndex", 0), s.get("snapshotsInstalled", 0), s.get("leader") or "-",
              it.get("ageSeconds", 0))'
}

ha_leader() {
  local l
  l=$(ha_view | awk '$2 == "leader" {print $3, $1}' | sort -n | tail -n1 | awk '{print $2}')
  [ -n "$l" ] && echo "$l"
}

ha_role() { ha_view | awk -v m="s$1" '$1 == m {print $2}'; }

# ha_field I FIELD: commit|applied|snapshots|term of member s<I>.
ha_field() {
  local col
  case $2 in term) col=3 ;; commit) col=4 ;; applied) col=5 ;; snapshots) col=6 ;; *) return 1 ;; esac
  ha_view | awk -v m="s$1" -v c="$col" '$1 == m {print $c}'
}

# A leader other than $2 (if given) that the others follow.
ha_has_leader() {
  local l
  l=$(ha_leader) || return 1
  [ -n "${1:-}" ] && [ "$l" = "$1" ] && return 1
  echo "$l" >"$T/ha-leader"
}

ha_wait_leader() {
  poll_until "$1" ha_has_leader "${2:-}" || return 1
  cat "$T/ha-leader"
}

# ha_elected_ms I SINCE_MS: ms from SINCE_MS (epoch ms) to member s<I>'s
# last "leader for term" log line (both the machine's realtime clock).
ha_elected_ms() {
  local line
  line=$(grep "leader for term" "$T/store$1.log" | tail -n1)
  [ -n "$line" ] || return 1
  python3 -c 'import sys, datetime as d
t = d.datetime.strptime(sys.argv[1][:23], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=d.timezone.utc)
print(int(t.timestamp() * 1000) - int(sys.argv[2]))' "$line" "$2"
}

ha_partition() { ip -n "${HOSTS_NS}f" link set "h$1" down; }
ha_heal() { ip -n "${HOSTS_NS}f" link set "h$1" up; }

ha_digest() {
  local i=$1 t
  for t in objects requests streams; do
    echo "== $t"
    mdb_dump -s "$t" "$T/s$i" 2>/dev/null || true
  done | sha256sum | awk '{print $1}'
}

# ha_load_start CLIENTS KEYS: hs-ha-load on the clients' host, recording to
# $T/history.jsonl until ha_load_finish (40 s at most). Sets LOAD_PID.
ha_load_start() {
  start load on_client "$HS_BIN/hs-ha-load" --clients "$1" --keys "$2" --ms 40000 \
    --stop-file "$T/stop" --out "$T/history.jsonl"
  LOAD_PID=$LAST_PID
  wait_for 20 "the writers to start" grep -q "started $1 clients" "$T/load.log"
}

# ha_load_mid CLIENTS KEYS I: ha_load_start, then waits until member s<I>
# (the leader) has committed 100 more raft entries (batches): mid-load.
ha_load_mid() {
  ha_load_start "$1" "$2"
  wait_for 20 "100 commits under load" ha_commits_past "$3" $(( $(ha_field "$3" commit) + 100 ))
}

# ha_commits_past I N: member s<I> reports a commit index >= N.
ha_commits_past() { local c; c=$(ha_field "$1" commit); [ -n "$c" ] && [ "$c" -ge "$2" ]; }

# ha_load_finish: stops the writers, then checks their history against the
# final state (hs_history_check.py); fails on any violation.
ha_load_finish() {
  touch "$T/stop"
  poll_until 40 sh -c "! kill -0 $LOAD_PID" || fail "the writers did not finish"
  wait "$LOAD_PID" || fail "hs-ha-load failed: $(tail -n 5 "$T/load.log")"
  grep "hs-ha-load: sent" "$T/load.log"
  on_client "$HS_BIN/hsctl" get pods -o json >"$T/final.json" 2>"$T/final.err" ||
    fail "hsctl get pods: $(cat "$T/final.err")"
  python3 "$HS_SRC/tests/tools/hs_history_check.py" "$T/history.jsonl" "$T/final.json" |
    tee "$T/check.out"
  grep -q "0 violations" "$T/check.out" || fail "the history is not linearizable"
}

# ha_digests_equal: stops the three members (they checkpoint) and fails
# unless their LMDB digests are equal.
ha_digests_equal() {
  local i d1 d2 d3
  for i in 1 2 3; do ha_stop "$i"; done
  d1=$(ha_digest 1) d2=$(ha_digest 2) d3=$(ha_digest 3)
  [ "$d1" = "$d2" ] && [ "$d2" = "$d3" ] || fail "LMDB digests differ: s1 $d1 s2 $d2 s3 $d3"
  # shellcheck disable=SC2034 # HA_DIGEST: for the tests' messages
  HA_DIGEST=$d1
}
