"""hsraw.py: the security suite's attacker toolkit. Raw ZeroMQ (python3-zmq) and a
hand-written protobuf encoder/decoder for the few messages of schemas/bus.proto
and objects.proto it needs: deliberately no Homeostat library, so the tests see
the bus exactly as a stranger would."""
import os
import re
import time

import zmq


# ---------------------------------------------------------------- protobuf, by hand

def _varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def fld(num, value):
    """One field: int -> varint, str/bytes -> length-delimited, list -> repeated,
    None -> absent."""
    if value is None:
        return b""
    if isinstance(value, list):
        return b"".join(fld(num, v) for v in value)
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return _varint(num << 3) + _varint(value)
    if isinstance(value, str):
        value = value.encode()
    return _varint(num << 3 | 2) + _varint(len(value)) + value


def msg(*fields):
    return b"".join(fields)


def decode(data):
    """A message as {field number: [values]}: varints as int, the rest as bytes."""
    out, i = {}, 0
    while i < len(data):
        key, i = _read_varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(data, i)
        elif wt == 2:
            n, i = _read_varint(data, i)
            v, i = data[i:i + n], i + n
        elif wt == 1:
            v, i = data[i:i + 8], i + 8
        elif wt == 5:
            v, i = data[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def _read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


# objects.proto / bus.proto field numbers used below
OP_CREATE, OP_APPLY, OP_UPDATE, OP_UPDATE_STATUS, OP_DELETE, OP_BIND = 1, 2, 3, 4, 5, 6
CODES = {0: "OK", 1: "Invalid", 2: "NotFound", 3: "AlreadyExists", 4: "Conflict",
         5: "Forbidden", 6: "Unavailable", 7: "Internal"}


def meta(name, namespace="default", annotations=None):
    ann = [msg(fld(1, k), fld(2, v)) for k, v in (annotations or {}).items()]
    return msg(fld(1, name), fld(3, namespace), fld(6, ann or None))


def pod(name, node="", namespace="default", phase=None, annotations=None):
    container = msg(fld(1, "c"), fld(2, "none"), fld(3, ["/bin/sleep", "3600"]))
    spec = msg(fld(1, [container]), fld(6, node or None))
    status = msg(fld(1, phase)) if phase else None
    body = msg(fld(1, meta(name, namespace, annotations)), fld(2, spec), fld(3, status))
    return msg(fld(2, body))  # Object.pod


def node_obj(name, ready=None):
    status = None
    if ready is not None:
        cond = msg(fld(1, "Ready"), fld(2, "True" if ready else "False"))
        status = msg(fld(3, [cond]))
    return msg(fld(1, msg(fld(1, msg(fld(1, name))), fld(3, status))))  # Object.node


def write(op, obj=None, kind=None, name=None, namespace=None, node_name=None):
    return msg(fld(1, op), fld(2, obj), fld(3, kind), fld(4, namespace), fld(5, name),
               fld(7, node_name))


def command(client_id, request_id, writes):
    return msg(fld(1, client_id), fld(2, request_id), fld(3, writes))


_seq = [0]


def envelope(sender, body_field, body):
    _seq[0] += 1
    return msg(fld(1, sender), fld(2, _seq[0]), fld(3, time.time_ns()), fld(body_field, body))


def ack_of(env_bytes):
    """(request_id, code name, message, replayed) of an Envelope holding an Ack."""
    env = decode(env_bytes)
    a = decode(env[11][0])
    return (a.get(1, [b""])[0].decode(), CODES.get(a.get(2, [0])[0], "?"),
            a.get(3, [b""])[0].decode(), bool(a.get(7, [0])[0]))


# ---------------------------------------------------------------- keys

def load_cert(path):
    """A zcert file's public-key, secret-key and metadata (czmq's ZPL text)."""
    text = open(path).read()
    out = {}
    for k, v in re.findall(r'^\s*([-\w]+)\s*=\s*"([^"]*)"', text, re.M):
        out[k] = v
    return out


# ---------------------------------------------------------------- sockets

class Bus:
    """A PUB and a SUB on hs-bus (HOST:PORT: PORT publishes, PORT+1 subscribes), with
    a CURVE key (cred: load_cert of a credential) or plaintext (cred None)."""

    def __init__(self, host, port, cred=None, broker_key=None, curve_keys=None):
        self.ctx = zmq.Context.instance()
        self.pub = self.ctx.socket(zmq.PUB)
        self.sub = self.ctx.socket(zmq.SUB)
        for s in (self.pub, self.sub):
            s.setsockopt(zmq.LINGER, 0)
            if cred or curve_keys:
                pk, sk = curve_keys or (cred["public-key"], cred["secret-key"])
                s.curve_publickey = pk.encode()
                s.curve_secretkey = sk.encode()
                s.curve_serverkey = (broker_key or cred["broker-key"]).encode()
        self.pub.connect("tcp://%s:%d" % (host, port))
        self.sub.connect("tcp://%s:%d" % (host, port + 1))

    def subscribe(self, prefix):
        self.sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())

    def send(self, *frames):
        self.pub.send_multipart([f.encode() if isinstance(f, str) else f for f in frames])

    def recv(self, timeout_s):
        """Frames of the next message, or None when timeout_s passes."""
        if self.sub.poll(int(timeout_s * 1000)):
            return self.sub.recv_multipart()
        return None

    def recv_until(self, pred, timeout_s):
        """The first message whose frames satisfy pred, or None at the deadline."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            m = self.recv(left)
            if m is not None and pred(m):
                return m

    def close(self):
        self.pub.close(0)
        self.sub.close(0)
