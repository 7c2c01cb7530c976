#!/usr/bin/python3
"""store_attacker.py: writes through the secured bus with a stolen or legitimate
key, to see what hs-store lets each identity do. Raw ZeroMQ (pyzmq) and protobuf
encoded by hand (hsraw.py): no Homeostat library. Run by test_sec_store.sh on
another network-namespace host.

    store_attacker.py --bus HOST:PORT --broker-key Z85 --cred FILE STEP [ARGS]

STEP (each prints one JSON object: the acks it got, by write):
  node-writes NODE VICTIM_NODE POD   as node:NODE: update_status of pod POD (bound to
                                     VICTIM_NODE), delete it, update_status of Node
                                     VICTIM_NODE, create a plain pod, a mirror pod
                                     bound to VICTIM_NODE, bind a pod, create a
                                     Deployment; then the controls: create its own
                                     Node, its status, a mirror pod bound to itself
  squat CLIENT REQUEST               send a command as CLIENT/REQUEST (another
                                     identity's client id and request id)
  create CLIENT REQUEST POD          create pod POD (unbound) as CLIENT/REQUEST and
                                     print the ack (the victim's turn)
"""
import argparse
import json
import os
import sys
import time

import zmq
import zmq.auth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hsraw as pb  # noqa: E402


class Client:
    def __init__(self, args):
        pub, sec = zmq.auth.load_certificate(args.cred)
        host, port = args.bus.rsplit(":", 1)
        ctx = zmq.Context.instance()
        self.pub, self.sub = ctx.socket(zmq.PUB), ctx.socket(zmq.SUB)
        for s in (self.pub, self.sub):
            s.linger = 0
            s.curve_serverkey = args.broker_key.encode()
            s.curve_publickey, s.curve_secretkey = pub, sec
        self.pub.connect(f"tcp://{host}:{port}")
        self.sub.connect(f"tcp://{host}:{int(port) + 1}")
        self.sender = f"attacker/{os.getpid()}"

    def join(self, nonce, timeout=10):
        topic = f"echo.{nonce}/"
        self.sub.setsockopt_string(zmq.SUBSCRIBE, topic)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            env = pb.envelope(self.sender, 17, pb.msg(pb.fld(1, nonce)))
            self.pub.send_multipart([topic.encode(), env])
            if self.sub.poll(100):
                if self.sub.recv_multipart()[0].decode() == topic:
                    return True
        sys.exit("store_attacker: the bus never echoed: not joined")

    def call(self, client, request, writes, topic="cmd.multi", timeout=5):
        """Sends one command; its ack as (code, message, replayed), or None if
        none came within timeout."""
        ack_topic = f"ack.{client}/"
        self.sub.setsockopt_string(zmq.SUBSCRIBE, ack_topic)
        env = pb.envelope(self.sender, 10, pb.command(client, request, writes))
        self.pub.send_multipart([topic.encode(), env])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.sub.poll(50):
                continue
            fr = self.sub.recv_multipart()
            if fr[0].decode(errors="replace") != ack_topic or len(fr) < 2:
                continue
            rid, code, text, replayed = pb.ack_of(fr[1])
            if rid == request:
                return {"code": code, "message": text, "replayed": replayed}
        return None


def node_writes(c, me, victim, pod):
    mirror = {"kubernetes.io/config.mirror": "x"}
    tries = {
        "status_victim_pod": ("cmd.pod", [pb.write(pb.OP_UPDATE_STATUS,
                                                   pb.pod(pod, victim, phase="Failed"))]),
        "delete_victim_pod": ("cmd.pod", [pb.write(pb.OP_DELETE, kind="pod", name=pod,
                                                   namespace="default")]),
        "status_victim_node": ("cmd.node", [pb.write(pb.OP_UPDATE_STATUS,
                                                     pb.node_obj(victim, ready=False))]),
        "create_pod": ("cmd.pod", [pb.write(pb.OP_CREATE, pb.pod("planted", ""))]),
        "mirror_on_victim": ("cmd.pod", [pb.write(pb.OP_CREATE,
                                                  pb.pod("planted-m", victim, annotations=mirror))]),
        "bind": ("cmd.pod", [pb.write(pb.OP_BIND, kind="pod", name=pod,
                                      namespace="default", node_name=me)]),
        "deployment": ("cmd.deployment", [pb.write(pb.OP_CREATE, pb.msg(pb.fld(
            4, pb.msg(pb.fld(1, pb.meta("planted-d"))))))]),
        "create_own_node": ("cmd.node", [pb.write(pb.OP_CREATE, pb.node_obj(me))]),
        "own_node_status": ("cmd.node", [pb.write(pb.OP_UPDATE_STATUS,
                                                  pb.node_obj(me, ready=True))]),
        "mirror_on_self": ("cmd.pod", [pb.write(pb.OP_CREATE,
                                                pb.pod("own-mirror", me, annotations=mirror))]),
    }
    out = {}
    for i, (name, (topic, writes)) in enumerate(tries.items()):
        # a node's client id is its own name (the store drops any other)
        out[name] = c.call(me, f"att-{os.getpid()}-{i}", writes, topic)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bus", required=True)
    ap.add_argument("--broker-key", required=True)
    ap.add_argument("--cred", required=True)
    ap.add_argument("step")
    ap.add_argument("rest", nargs="*")
    args = ap.parse_args()
    c = Client(args)
    c.join(f"att{os.getpid()}")
    if args.step == "node-writes":
        res = node_writes(c, *args.rest)
    elif args.step == "squat":
        client, request = args.rest
        res = {"ack": c.call(client, request, [pb.write(pb.OP_CREATE, pb.pod("squatted", ""))],
                             "cmd.pod", timeout=2)}
    elif args.step == "create":
        client, request, pod = args.rest
        res = {"ack": c.call(client, request, [pb.write(pb.OP_CREATE, pb.pod(pod, ""))],
                             "cmd.pod")}
    else:
        sys.exit(f"store_attacker: unknown step {args.step}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
