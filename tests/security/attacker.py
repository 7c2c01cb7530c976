#!/usr/bin/python3
"""attacker.py: an attacker on the Homeostat bus using only raw ZeroMQ (pyzmq),
no Homeostat library. tests/security/test_sec_bus.sh runs it on another
network-namespace host against a real, secured hs-bus and hs-store.

    attacker.py --bus HOST:PORT --broker-key Z85 STEP [--cred FILE] [--out FILE]

STEP:
  nokey     plaintext PUB and SUB: publish forged commands and events, read
            whatever comes for 3 s
  unknown   the same with a CURVE key the bus has never seen
  forge     with --cred (a registered key): join (echo round trip), then
            publish the forged topics of FORGED, a 3-frame cmd.pod carrying
            a self-made stamp, a one-frame message, an odd batch, and the
            allowed controls (cmd.pod and the identity's own heartbeat),
            then fence with a second echo
  revoke    with --cred: join, print "joined", then ping echo.* until the
            bus stops echoing (the key was removed meanwhile); then publish
            cmd.pod on that connection and try a new connection
  garbage   with --cred: oversize topic, 5 MiB and 9 MiB frames, random
            bytes on cmd.pod; then join again on new sockets
  replies   with --cred (another node's key) and --victim NODE: join, write
            --out FILE.joined, then for --seconds answer every request for
            NODE it reads (everyone may read): an ExecRequest on
            exec.NODE/ with a forged ExecChunk on execout.<client>/, a
            LogRequest on logreq.NODE/ with a forged LogChunk on
            logs.<client>/, a probe's ExecRequest on probe.NODE/ with a
            failing ExecResult on probres.<client>/ (test_sec_replies.sh)

Prints one JSON object (the step's findings) on stdout, or into --out.
Messages are protobuf built by hand: Envelope{sender=1, sender_seq=2,
sent_at_ns=3, ping=17{nonce=1}} and command=10 with arbitrary bytes.
"""
import argparse
import json
import os
import sys
import time

import zmq
import zmq.auth
import zmq.utils.monitor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hsraw import decode as hsraw_decode  # noqa: E402

# What a node:b must not be able to publish (test_sec_bus.sh checks that
# no subscriber ever saw them and that hs-bus counted each in `denied`).
FORGED = [
    "ev.pod.a/default/victim",  # an agent acts on store events: kill a's pod
    "ack.hsctl-victim/",  # a forged answer to someone's command
    "snap.hsctl-victim/",  # a forged snapshot
    "probe.a/",  # exec / probe requests run commands in a's containers
    "hb.agent.a",  # keep a dead node looking alive
    "hb.store",  # pretend to be the store
    "exec.a/",  # admin-only exec request
]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    if wire == 0:
        return varint(num << 3) + varint(payload)
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def envelope(sender, seq, body_field, body):
    return (field(1, 2, sender.encode()) + field(2, 0, seq) +
            field(3, 0, time.time_ns()) + field(body_field, 2, body))


def ping(sender, seq, nonce):
    return envelope(sender, seq, 17, field(1, 2, nonce.encode()))


class Conn:
    """A PUB and a SUB to the bus, plaintext or CURVE, with monitors."""

    def __init__(self, ctx, args, keypair=None, plain=False):
        host, port = args.bus.rsplit(":", 1)
        self.pub = ctx.socket(zmq.PUB)
        self.sub = ctx.socket(zmq.SUB)
        self.events = []
        self.mons = []
        for s in (self.pub, self.sub):
            s.linger = 0
            if not plain:
                s.curve_serverkey = args.broker_key.encode()
                s.curve_publickey, s.curve_secretkey = keypair
            self.mons.append(s.get_monitor_socket(
                zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL))
        self.pub.connect(f"tcp://{host}:{port}")
        self.sub.connect(f"tcp://{host}:{int(port) + 1}")
        self.seq = 0
        self.name = f"attacker/{os.getpid()}"

    def read_events(self):
        for m in self.mons:
            while m.poll(0):
                ev = zmq.utils.monitor.recv_monitor_message(m)
                self.events.append(ev["event"])

    def handshake_ok(self):
        self.read_events()
        return self.events.count(zmq.EVENT_HANDSHAKE_SUCCEEDED) >= 2

    def refused(self):
        self.read_events()
        return zmq.EVENT_HANDSHAKE_FAILED_AUTH in self.events

    def send(self, *frames):
        self.pub.send_multipart([f if isinstance(f, bytes) else f.encode() for f in frames])

    def ping(self, topic, nonce):
        self.seq += 1
        self.send(topic, ping(self.name, self.seq, nonce))

    def echo(self, nonce, timeout):
        """Publishes echo.<nonce>/ until it comes back (True) or timeout."""
        topic = f"echo.{nonce}/"
        self.sub.setsockopt_string(zmq.SUBSCRIBE, topic)
        deadline = time.monotonic() + timeout
        ok = False
        while not ok and time.monotonic() < deadline:
            self.ping(topic, nonce)
            end = time.monotonic() + 0.1
            while time.monotonic() < end:
                if self.sub.poll(20):
                    fr = self.sub.recv_multipart()
                    if fr[0].decode(errors="replace") == topic:
                        ok = True
                        break
        self.sub.setsockopt_string(zmq.UNSUBSCRIBE, topic)
        return ok

    def close(self):
        for s in [self.pub, self.sub] + self.mons:
            s.close(0)


def read_all(conn, seconds):
    """Everything the SUB receives in seconds (it subscribed to "")."""
    got = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if conn.sub.poll(50):
            got.append(conn.sub.recv_multipart()[0].decode(errors="replace"))
    return got


def step_outsider(ctx, args, plain):
    keypair = None if plain else zmq.curve_keypair()
    c = Conn(ctx, args, keypair, plain=plain)
    c.sub.setsockopt(zmq.SUBSCRIBE, b"")
    got = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        c.ping("cmd.pod", "outsider")
        c.send("ev.pod.a/default/victim", b"\x0a\x01x")
        got += read_all(c, 0.2)
    c.read_events()
    res = {"received": len(got), "topics": sorted(set(got))[:10],
           "handshake_ok": c.events.count(zmq.EVENT_HANDSHAKE_SUCCEEDED),
           "auth_failed": c.events.count(zmq.EVENT_HANDSHAKE_FAILED_AUTH),
           "protocol_failed": c.events.count(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
           + c.events.count(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)}
    c.close()
    return res


def load(args):
    pub, sec = zmq.auth.load_certificate(args.cred)
    if sec is None:
        sys.exit(f"attacker: {args.cred} has no secret key")
    return pub, sec


def step_forge(ctx, args):
    c = Conn(ctx, args, load(args))
    res = {"joined": c.echo("forge-join-%d" % os.getpid(), 10)}
    if not res["joined"]:
        c.read_events()
        res["events"] = c.events
        return res
    for t in FORGED:
        c.ping(t, "forged")
    # a stamp of our own: hs-bus must drop it, not forward it as admin:root
    c.seq += 1
    c.send("cmd.pod", envelope(c.name, c.seq, 10, b""), "admin:root")
    c.send("cmd.pod")  # one frame
    # a batch whose last pair lacks its body: the pair goes, the lone frame not
    c.seq += 1
    c.send("bus.batch", "cmd.pod", envelope(c.name, c.seq, 10, field(1, 2, b"batched")),
           "cmd.node")
    # a packed batch (hs_bus.h): one allowed command, one forged event
    c.seq += 1
    cmd = envelope(c.name, c.seq, 10, field(1, 2, b"packed"))
    c.seq += 1
    ev = ping(c.name, c.seq, "packed-forged")
    pack = b""
    for t, b in ((b"cmd.pod", cmd), (b"ev.pod.a/default/packed", ev)):
        pack += varint(len(t)) + t + varint(len(b)) + b
    c.send("bus.packed", pack)
    # controls: allowed, so they must arrive (stamped with our identity)
    c.seq += 1
    c.send("cmd.pod", envelope(c.name, c.seq, 10, field(1, 2, b"allowed")))
    if args.own_hb:
        c.ping(args.own_hb, "own-heartbeat")
    res["fenced"] = c.echo("forge-fence-%d" % os.getpid(), 10)
    c.close()
    return res


def step_revoke(ctx, args):
    c = Conn(ctx, args, load(args))
    res = {"joined": c.echo("revoke-join-%d" % os.getpid(), 10)}
    print("joined" if res["joined"] else "not joined", file=sys.stderr, flush=True)
    if args.out:
        with open(args.out + ".joined", "w") as f:
            f.write("1" if res["joined"] else "0")
    # echoes come back until the key is removed and hs-bus reloads
    deadline = time.monotonic() + 20
    n = 0
    stopped = False
    while time.monotonic() < deadline:
        n += 1
        if not c.echo("revoke-%d-%d" % (os.getpid(), n), 1.0):
            stopped = True
            break
    res["echoes_before_stop"] = n - 1
    res["stopped"] = stopped
    # reads too: hs-bus cut every subscriber; ours cannot come back
    c.sub.setsockopt(zmq.SUBSCRIBE, b"")
    time.sleep(0.5)
    while c.sub.poll(0):
        c.sub.recv_multipart()
    res["reads_after_revoke"] = len(read_all(c, 2.5))
    c.seq += 1
    c.send("cmd.pod", envelope(c.name, c.seq, 10, field(1, 2, b"after-revoke")))
    c.ping("hb.agent.b", "after-revoke")
    time.sleep(0.5)
    c.close()
    # a new connection with the same key: refused by ZAP
    c2 = Conn(ctx, args, load(args))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not c2.refused() and not c2.handshake_ok():
        time.sleep(0.05)
    res["reconnect_refused"] = c2.refused()
    res["reconnect_ok"] = c2.handshake_ok()
    c2.close()
    return res


def step_garbage(ctx, args):
    c = Conn(ctx, args, load(args))
    res = {"joined": c.echo("garbage-join-%d" % os.getpid(), 10)}
    c.send("cmd." + "x" * 2000, b"\x00")  # topic over 1024 bytes
    c.send("bus.packed", b"\x07cmd.pod\xff\xff\xff\xff")  # a pack that does not parse
    c.send("cmd.pod", os.urandom(4096))  # random bytes: the store counts them
    c.send("cmd.pod", b"\x00" * (5 * 1024 * 1024))  # over the envelope limit
    c.send("echo.x/", b"\x00" * (5 * 1024 * 1024))  # over the limit, not a command
    c.send("cmd.pod", b"\x00" * (9 * 1024 * 1024))  # over ZMQ_MAXMSGSIZE: cut off
    time.sleep(1)
    c.close()
    c2 = Conn(ctx, args, load(args))
    res["rejoined"] = c2.echo("garbage-rejoin-%d" % os.getpid(), 10)
    c2.close()
    return res


def _str(d, num):
    return d.get(num, [b""])[0].decode(errors="replace")


def step_replies(ctx, args):
    c = Conn(ctx, args, load(args))
    res = {"joined": c.echo("replies-join-%d" % os.getpid(), 10),
           "exec": 0, "logs": 0, "probe": 0}
    if args.out:
        with open(args.out + ".joined", "w") as f:
            f.write("1" if res["joined"] else "0")
    v = args.victim
    for t in ("exec.%s/" % v, "logreq.%s/" % v, "probe.%s/" % v):
        c.sub.setsockopt_string(zmq.SUBSCRIBE, t)
    answered = set()
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        if not c.sub.poll(50):
            continue
        fr = c.sub.recv_multipart()
        topic, env = fr[0].decode(errors="replace"), hsraw_decode(fr[1])
        c.seq += 1
        if topic.startswith("exec.") and 21 in env:
            rq = hsraw_decode(env[21][0])
            cid, rid = _str(rq, 1), _str(rq, 2)
            if rid in answered or rq.get(9):
                continue
            answered.add(rid)
            chunk = (field(1, 2, rid.encode()) + field(2, 0, 1) + field(3, 0, 1) +
                     field(4, 2, b"FORGED-EXEC\n") + field(5, 0, 1) + field(6, 0, 0))
            c.send("execout.%s/" % cid, envelope(c.name, c.seq, 23, chunk))
            res["exec"] += 1
        elif topic.startswith("logreq.") and 18 in env:
            rq = hsraw_decode(env[18][0])
            cid, rid = _str(rq, 1), _str(rq, 2)
            if rid in answered or rq.get(11):
                continue
            answered.add(rid)
            chunk = (field(1, 2, rid.encode()) + field(2, 2, b"FORGED-LOG\n") +
                     field(3, 0, 1) + field(6, 0, 1))
            c.send("logs.%s/" % cid, envelope(c.name, c.seq, 19, chunk))
            res["logs"] += 1
        elif topic.startswith("probe.") and 21 in env:
            rq = hsraw_decode(env[21][0])
            cid, rid = _str(rq, 1), _str(rq, 2)
            if rid in answered:
                continue
            answered.add(rid)
            result = (field(1, 2, rid.encode()) + field(2, 0, 1) +
                      field(3, 2, b"FORGED-PROBE"))
            c.send("probres.%s/" % cid, envelope(c.name, c.seq, 22, result))
            res["probe"] += 1
    c.close()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bus", required=True)
    ap.add_argument("--broker-key", required=True)
    ap.add_argument("--cred")
    ap.add_argument("--own-hb")
    ap.add_argument("--out")
    ap.add_argument("--victim", default="a")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("step", choices=["nokey", "unknown", "forge", "revoke", "garbage",
                                     "replies"])
    args = ap.parse_args()
    ctx = zmq.Context()
    if args.step == "nokey":
        res = step_outsider(ctx, args, plain=True)
    elif args.step == "unknown":
        res = step_outsider(ctx, args, plain=False)
    elif args.step == "forge":
        res = step_forge(ctx, args)
    elif args.step == "revoke":
        res = step_revoke(ctx, args)
    elif args.step == "replies":
        res = step_replies(ctx, args)
    else:
        res = step_garbage(ctx, args)
    ctx.term()
    text = json.dumps(res)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
