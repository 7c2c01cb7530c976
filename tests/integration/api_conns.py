#!/usr/bin/env python3
"""Many raw HTTP connections to hs-apiserver at once (test_apiserver.sh).

api_conns.py PORT MODE [TOKEN]: prints one line of results.
  early    a stranger's POST announcing 3 MB: the answer's status line,
           read before any body byte is sent (or "none")
  perip N  N idle connections, each then asks GET /healthz: "answered A
           refused R"
  bodies N N authenticated 2.9 MB POST bodies, all but their last byte
           sent first, then finished: the status codes, sorted, counted
  watches N  N watches of one user held open, then one more: the codes
"""
import collections
import socket
import sys
import time

port, mode = int(sys.argv[1]), sys.argv[2]
token = sys.argv[4] if len(sys.argv) > 4 else (sys.argv[3] if len(sys.argv) > 3 else "")


def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    return s


def status(s):
    try:
        line = s.recv(4096).split(b"\r\n")[0].decode(errors="replace")
    except (ConnectionResetError, socket.timeout, BrokenPipeError, OSError):
        return "none"
    return line.split(" ")[1] if line.startswith("HTTP/") else "none"


if mode == "early":
    s = conn()
    s.sendall(b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: 3000000\r\n\r\n")
    s.settimeout(5)
    print(status(s))
elif mode == "perip":
    n = int(sys.argv[3])
    socks = []
    for _ in range(n):
        try:
            socks.append(conn())
        except OSError:
            pass
    answered = refused = 0
    for s in socks:
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        except OSError:
            refused += 1
            continue
        if status(s) == "200":
            answered += 1
        else:
            refused += 1
    print("answered %d refused %d" % (answered, refused))
elif mode == "bodies":
    n = int(sys.argv[3])
    size = 2900000
    head = ("POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
            "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (token, size)).encode()
    socks = []
    for _ in range(n):
        s = conn()
        s.sendall(head + b" " * (size - 1))
        socks.append(s)
    # Until the server has read enough of them to be at its cap (a small
    # body is refused 429), or a deadline: only then do they end, so the
    # count does not depend on how fast the server drained its sockets.
    deadline = time.monotonic() + 15
    small = head.replace(b"Content-Length: %d" % size, b"Content-Length: 10")
    while time.monotonic() < deadline:
        p = conn()
        p.sendall(small + b" " * 10)
        code = status(p)
        p.close()
        if code == "429":
            break
    for s in socks:
        s.sendall(b" ")
    codes = collections.Counter(status(s) for s in socks)
    print(" ".join("%s:%d" % kv for kv in sorted(codes.items())))
elif mode == "watches":
    n = int(sys.argv[3])
    req = ("GET /api/v1/namespaces/default/configmaps?watch=true HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\n\r\n" % token).encode()
    socks, codes = [], collections.Counter()
    for _ in range(n + 1):
        s = conn()
        s.sendall(req)
        socks.append(s)
        codes[status(s)] += 1
    print(" ".join("%s:%d" % kv for kv in sorted(codes.items())))
