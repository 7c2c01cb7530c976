#!/usr/bin/env bash
# docs/protocol.md is enough to write a client: a Python one (pyzmq and
# protoc-generated classes, nothing of libhsbus) written from that page alone
# talks to the real hs-bus and hs-store. It resolves HS_BUS to both ports,
# joins through its echo topic, creates a pod and gets the ack, replays the
# request id (replayed=true, also with another body), sends an oversized
# command and a wrong-kind command and gets refusals that name the limit and
# the topic, and checks that prefixes end where names end: client x hears
# none of client xy's acks, node a none of node a.b's pods. hs-bus's
# heartbeat counts what it drops.
source "$(dirname "$0")/lib.sh"
# Plaintext (hs_insecure): a raw ZeroMQ peer (python3-zmq, no key) speaks the protocol;
# tests/security runs such a peer against a secured bus.
hs_insecure

# Debian's python3-zmq and python3-protobuf live in the system python3,
# which a python3 earlier on PATH (pyenv, a venv) may not see.
PY=""
for p in python3 /usr/bin/python3; do
  "$p" -c 'import zmq, google.protobuf' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || {
  echo "skip: python3-zmq and python3-protobuf are needed (scripts/install-deps)"; exit 77; }
command -v protoc >/dev/null || { echo "skip: protoc is needed (scripts/install-deps)"; exit 77; }

mkdir -p "$T/py"
protoc -I "$HS_SRC/schemas" --python_out="$T/py" "$HS_SRC/schemas/objects.proto" \
  "$HS_SRC/schemas/bus.proto" || fail "protoc could not compile the schemas"

HS_PORT=$(free_port_pair)
export HS_BUS="127.0.0.1:$HS_PORT"
start_bus
start_store

cat >"$T/client.py" <<'PY'
# A bus client written from docs/protocol.md and schemas/*.proto only.
import os, sys, time, uuid
import zmq
import bus_pb2 as bus
import objects_pb2 as obj

MAX_MSG = 4 * 1024 * 1024          # HS_BUS_MAX_MSG (§4)

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)

def endpoints(addr):               # §1
    addr = addr or "127.0.0.1:7400"
    if addr.startswith("ipc://"):
        return addr + "/pub", addr + "/sub"
    if addr.startswith("tcp://"):
        addr = addr[6:]
    host, _, port = addr.rpartition(":")
    if not host:
        host, port = addr, "7400"
    port = int(port)
    return "tcp://%s:%d" % (host, port), "tcp://%s:%d" % (host, port + 1)

class Client:
    def __init__(self, ctx, client_id, subs=()):
        self.id = client_id
        self.seq = 0
        pub_ep, sub_ep = endpoints(os.environ.get("HS_BUS"))
        self.pub = ctx.socket(zmq.PUB)
        self.pub.connect(pub_ep)
        self.sub = ctx.socket(zmq.SUB)
        self.sub.connect(sub_ep)
        for t in ("ack.%s/" % client_id,) + tuple(subs):   # §2: '/' ends the id
            self.sub.setsockopt(zmq.SUBSCRIBE, t.encode())
        self.heard = []            # (topic, envelope) received on the way
        self.join()

    def send(self, topic, field, msg, raw=None):
        env = bus.Envelope()
        env.sender = "pyclient/" + self.id
        self.seq += 1
        env.sender_seq = self.seq
        env.sent_at_ns = time.time_ns()
        getattr(env, field).CopyFrom(msg)
        self.pub.send_multipart([topic.encode(), raw or env.SerializeToString()])
        return env

    def recv(self, timeout_ms):
        if not self.sub.poll(timeout_ms):
            return None
        frames = self.sub.recv_multipart()
        if len(frames) != 2:
            fail("a message of %d frames" % len(frames))
        env = bus.Envelope()
        env.ParseFromString(frames[1])
        return frames[0].decode(), env

    def join(self):                # §1: ping echo.<id>/ until it comes back
        topic = "echo.%s/" % self.id
        self.sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
        nonce = uuid.uuid4().hex
        deadline = time.monotonic() + 10
        wait = 5
        while time.monotonic() < deadline:
            self.send(topic, "ping", bus.Ping(nonce=nonce))
            until = time.monotonic() + wait / 1000
            while time.monotonic() < until:
                m = self.recv(max(1, int((until - time.monotonic()) * 1000)))
                if m is None:
                    break
                if m[0] == topic and m[1].WhichOneof("body") == "ping" and m[1].ping.nonce == nonce:
                    return
                self.heard.append(m)
            wait = min(wait * 2, 100)
        fail("%s: the echo never came back: no broker?" % self.id)

    def call(self, topic, cmd, raw=None, timeout=10):
        """§6: resend the same command until its ack comes."""
        deadline = time.monotonic() + timeout
        interval = 0.2
        while time.monotonic() < deadline:
            self.send(topic, "command", cmd, raw)
            until = time.monotonic() + interval
            while time.monotonic() < until:
                m = self.recv(max(1, int((until - time.monotonic()) * 1000)))
                if m is None:
                    break
                t, env = m
                if t == "ack.%s/" % self.id and env.ack.request_id == cmd.request_id:
                    return env.ack
                self.heard.append(m)
            interval = min(interval * 2, 1.0)
        fail("%s: no ack for %s on %s" % (self.id, cmd.request_id, topic))

def command(client, *writes):
    c = bus.Command(client_id=client.id, request_id=uuid.uuid4().hex)
    c.writes.extend(writes)
    return c

def pod(name, node=None, annotation=None):
    o = obj.Object()
    o.pod.metadata.name = name
    o.pod.metadata.namespace = "default"
    if annotation:
        o.pod.metadata.annotations["big"] = annotation
    ct = o.pod.spec.containers.add()
    ct.name = "app"
    ct.command.append("sleep")
    return bus.Write(op=bus.OP_CREATE, object=o)

def node(name):
    o = obj.Object()
    o.node.metadata.name = name
    return bus.Write(op=bus.OP_CREATE, object=o)

def bind(name, node_name):
    return bus.Write(op=bus.OP_BIND, kind="pod", namespace="default", name=name,
                     node_name=node_name)

def expect(ack, code, what, text=None):
    if ack.code != code:
        fail("%s: code %s (%s), expected %s" % (what, bus.Code.Name(ack.code), ack.message,
                                               bus.Code.Name(code)))
    if text and text not in ack.message:
        fail("%s: message %r lacks %r" % (what, ack.message, text))
    print("ok: %s: %s %s" % (what, bus.Code.Name(ack.code), ack.message))

ctx = zmq.Context()
pub_ep, sub_ep = endpoints(os.environ["HS_BUS"])
port = int(os.environ["HS_BUS"].rsplit(":", 1)[1])
if pub_ep != "tcp://127.0.0.1:%d" % port or sub_ep != "tcp://127.0.0.1:%d" % (port + 1):
    fail("endpoints %s %s" % (pub_ep, sub_ep))

# G5 subjects: client px and pxy; node a and a.b.
a = Client(ctx, "px", subs=("ev.pod.a/",))
b = Client(ctx, "pxy")

# create, ack, replay (G3)
create = command(a, pod("web"))
ack = a.call("cmd.pod", create)
expect(ack, bus.CODE_OK, "create pod/web")
if ack.replayed or ack.revision <= 0 or ack.results[0].result != bus.RESULT_CREATED:
    fail("first ack: %s" % ack)
again = a.call("cmd.pod", create)
expect(again, bus.CODE_OK, "the same request id again")
if not again.replayed or again.revision != ack.revision:
    fail("the retry was not replayed: %s" % again)
other = command(a, pod("other"))
other.request_id = create.request_id        # G3: another body, the same id
reused = a.call("cmd.pod", other)
if not reused.replayed or reused.results[0].name != "web":
    fail("a reused request id should replay the first answer: %s" % reused)
print("ok: a reused request id replays the first answer (pod/other not created)")
exists = a.call("cmd.pod", command(a, pod("other")))
expect(exists, bus.CODE_OK, "pod/other under a fresh request id")

# G1: an oversized command is answered, not dropped
big = command(a, pod("big", annotation="x" * (MAX_MSG + 100)))
env = bus.Envelope(sender="pyclient/px", sender_seq=999, sent_at_ns=time.time_ns())
env.command.CopyFrom(big)
raw = env.SerializeToString()
if not MAX_MSG < len(raw) < 2 * MAX_MSG:
    fail("the oversized envelope is %d bytes" % len(raw))
expect(a.call("cmd.pod", big, raw=raw), bus.CODE_INVALID, "an oversized command",
       "must be at most 4194304 bytes (HS_BUS_MAX_MSG")
many = command(a, *[bus.Write(op=bus.OP_DELETE, kind="pod", name="x%d" % i) for i in range(1001)])
expect(a.call("cmd.pod", many), bus.CODE_INVALID, "1,001 writes", "at most 1000 writes")

# G4: the topic names the kind
rs = obj.Object()
rs.replica_set.metadata.name = "rs1"
rs.replica_set.metadata.namespace = "default"
wrong = command(a, bus.Write(op=bus.OP_APPLY, object=rs))
expect(a.call("cmd.pod", wrong), bus.CODE_FORBIDDEN, "a ReplicaSet on cmd.pod",
       "writes[0] is a ReplicaSet: a command on cmd.pod may only write pods")
expect(a.call("cmd.multi", command(a, pod("solo"))), bus.CODE_FORBIDDEN, "one kind on cmd.multi",
       "must go on cmd.pod")
expect(a.call("cmd.node", command(a, node("a"), node("a.b"), node("ab"))), bus.CODE_OK,
       "nodes a, a.b and ab on cmd.node")
expect(a.call("cmd.multi", command(a, pod("p-a"), pod("p-ab"), pod("p-adotb"),
                                     node("n-multi"))), bus.CODE_OK, "pods and a node on cmd.multi")

# G5 and G2: node a hears only its own pods; a bind is MODIFIED on the node's stream
a.heard.clear()
expect(a.call("cmd.pod", command(a, bind("p-adotb", "a.b"))), bus.CODE_OK, "bind p-adotb to a.b")
expect(a.call("cmd.pod", command(a, bind("p-ab", "ab"))), bus.CODE_OK, "bind p-ab to ab")
expect(a.call("cmd.pod", command(a, bind("p-a", "a"))), bus.CODE_OK, "bind p-a to a")
deadline = time.monotonic() + 10
evs = [m for m in a.heard if m[0].startswith("ev.")]
while not any(t == "ev.pod.a/default/p-a" for t, _ in evs) and time.monotonic() < deadline:
    m = a.recv(200)
    if m and m[0].startswith("ev."):
        evs.append(m)
topics = [t for t, _ in evs]
if topics != ["ev.pod.a/default/p-a"]:
    fail("subscribed to ev.pod.a/, heard %s" % topics)
e = evs[0][1].event
if e.type != bus.MODIFIED or e.stream != "pod.a" or e.seq != 1 or \
        e.object.pod.spec.node_name != "a":
    fail("the bind's event: %s" % e)
print("ok: node a hears only p-a's bind, MODIFIED on stream pod.a, seq 1")

# G5: client px hears none of client pxy's acks
a.heard.clear()
expect(b.call("cmd.pod", command(b, pod("from-pxy"))), bus.CODE_OK, "pxy creates a pod")
mine = a.call("cmd.pod", command(a, pod("from-px")))
expect(mine, bus.CODE_OK, "px creates a pod")
strays = [t for t, _ in a.heard if t.startswith("ack.")]
if strays:
    fail("client px heard %s" % strays)
print("ok: client px heard no ack of client pxy")

# hs-bus heartbeat (§8)
hb_sub = Client(ctx, "hbwatch", subs=("hb.bus.",))
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    m = hb_sub.recv(1500)
    if m and m[0].startswith("hb.bus."):
        names = {c.name: c.value for c in m[1].heartbeat.counters}
        if "dropped_oversized" not in names:
            fail("hb.bus counters: %s" % names)
        print("ok: hb.bus counts dropped_oversized = %d" % names["dropped_oversized"])
        break
else:
    fail("no hb.bus heartbeat")

# an oversized message on another topic is dropped and counted
before = names["dropped_oversized"]
a.send("logs.nobody/", "ping", bus.Ping(nonce="x" * (MAX_MSG + 10)))
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    m = hb_sub.recv(1500)
    if m and m[0].startswith("hb.bus."):
        now = {c.name: c.value for c in m[1].heartbeat.counters}["dropped_oversized"]
        if now == before + 1:
            print("ok: hs-bus dropped and counted an oversized message on logs.nobody/")
            break
else:
    fail("hs-bus did not count the oversized message")
print("protocol client: all checks passed")
PY

PYTHONPATH="$T/py" "$PY" "$T/client.py" || fail "the protocol client failed"
pass "a client written from docs/protocol.md"

# What the user sees: the store's objects through hsctl.
hsctl get pods >"$T/pods.txt" 2>&1 || fail "hsctl get pods: $(cat "$T/pods.txt")"
for p in web other p-a from-px from-pxy; do
  grep -q "^$p " "$T/pods.txt" || fail "pod $p missing: $(cat "$T/pods.txt")"
done
for p in big solo; do
  ! grep -q "^$p " "$T/pods.txt" || fail "pod $p should not exist: $(cat "$T/pods.txt")"
done
grep -q "dropped a message from sender pyclient/px" "$T/bus.log" ||
  fail "hs-bus did not log the oversized sender"
pass "hsctl sees what the client made and nothing it was refused; hs-bus logged the sender"
