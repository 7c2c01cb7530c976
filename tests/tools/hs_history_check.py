#!/usr/bin/env python3
"""hs_history_check.py: a Jepsen-style check of a history hs-ha-load recorded.

usage: hs_history_check.py HISTORY.jsonl [FINAL.json]

HISTORY: hs-ha-load's lines: send {op, ts, kind, key, val, exp}, ack {op,
ts, code, rev, replayed}, ev {ts, type, key, val, rev, epoch, seq}; ts are
one process's CLOCK_MONOTONIC ns, so "A's ack came before B was sent" is
real-time order. FINAL: `hsctl get pods -o json` after the run (a List;
items' metadata name, annotations["ha.homeostat.io/v"], resourceVersion).

Every write carries a value no other write has, so a value names its write.
An op is "ok" (acked OK), "failed" (a definite refusal: Conflict,
AlreadyExists, Invalid, or never sent) or "unknown" (Timeout, Unavailable,
Internal: it may or may not have committed). A write is known committed if
it was acked or its value shows up in an event or the final state.

Checks (a violation of any one fails):
  creates (unique keys): an acked create is in the final state with its
    value; an unknown one is there with its value or absent; no final u-*
    object that nobody sent; no create answered AlreadyExists (its key is
    unique, so that means it was applied twice); at most one ADDED revision.
  registers (r-*, single-key writes and compare-and-set), per key:
    - a value is committed at one revision only (never applied twice), and a
      revision carries one value (ack and events agree);
    - no event or final value that no write on that key sent, none from a
      refused write;
    - real-time order: A acked before B was sent => rev(A) < rev(B) (for B
      acked or seen committed);
    - events of one epoch come in increasing revision order;
    - compare-and-set: an acked CAS(expected e) -> rev r has no committed
      write on the key with e < rev < r, and e is the revision of a
      committed write (its predecessor);
    - the final value is the committed write of the highest revision known,
      or an unknown write committed after every known one.
  Since the revisions of committed writes are a total order per key that
  respects real time (checked), with every read (events, final) matching
  it, the register history is linearizable (a write-only register with
  unique values: Wing-Gong reduces to exactly these conditions).
Prints the counts and the violations; exit 1 if any.
"""
import bisect
import json
import sys
from collections import defaultdict

VAL = "ha.homeostat.io/v"
UNKNOWN = {"Timeout", "ServiceUnavailable", "InternalError", "Error", "Unavailable"}


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    ops, events = {}, []
    with open(sys.argv[1]) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except ValueError:
                print(f"{sys.argv[1]}:{n}: not JSON (a torn last line?): {line[:80]}",
                      file=sys.stderr)
                continue
            if r["t"] == "send":
                ops[r["op"]] = dict(r, ack=None)
            elif r["t"] == "ack":
                if r["op"] in ops:
                    ops[r["op"]]["ack"] = r
            elif r["t"] == "ev":
                events.append(r)
    final = None
    if len(sys.argv) == 3:
        with open(sys.argv[2]) as f:
            doc = json.load(f)
        final = {}
        for it in doc.get("items", []):
            md = it.get("metadata", {})
            final[md.get("name")] = ((md.get("annotations") or {}).get(VAL),
                                     int(md.get("resourceVersion") or 0))

    bad = []
    by_val = {}
    counts = defaultdict(int)
    for o in ops.values():
        a = o["ack"]
        code = a["code"] if a else "Timeout"
        o["state"] = ("ok" if code == "OK" else "unknown" if code in UNKNOWN else "failed")
        o["code"] = code
        o["rev"] = a["rev"] if a and code == "OK" else 0
        o["ack_ts"] = a["ts"] if a else None
        counts["ops"] += 1
        counts[o["state"]] += 1
        by_val[o["val"]] = o
    counts["events"] = len(events)

    # committed revisions seen for each value: acks, events, final
    seen = defaultdict(set)  # val -> {rev}
    rev_val = defaultdict(dict)  # key -> {rev: val}
    for o in ops.values():
        if o["state"] == "ok":
            seen[o["val"]].add(o["rev"])
    last_rev = {}
    for e in events:
        o = by_val.get(e["val"])
        if o is None or o["key"] != e["key"]:
            bad.append(f"event {e['key']}={e['val']}@{e['rev']}: no write on that key sent it")
            continue
        if o["state"] == "failed":
            bad.append(f"event {e['key']}={e['val']}@{e['rev']}: from a write refused "
                       f"({o['code']})")
        if e["type"] != 3:
            seen[e["val"]].add(e["rev"])
        k = (e["key"], e["epoch"])
        if k in last_rev and e["rev"] < last_rev[k]:
            bad.append(f"events of {e['key']} in epoch {e['epoch']} went back: "
                       f"{last_rev[k]} then {e['rev']}")
        last_rev[k] = max(e["rev"], last_rev.get(k, 0))
    if final is not None:
        for name, (val, rev) in final.items():
            if not name or not (name.startswith("u-") or name.startswith("r-")):
                continue
            o = by_val.get(val)
            if o is None or o["key"] != name:
                bad.append(f"final {name}={val}@{rev}: no write on that key sent it")
                continue
            if o["state"] == "failed":
                bad.append(f"final {name}={val}: from a write refused ({o['code']})")
            seen[val].add(rev)

    for val, revs in seen.items():
        o = by_val.get(val)
        if o is None:
            continue
        if len(revs) > 1:
            bad.append(f"{o['key']}={val} committed at several revisions {sorted(revs)} "
                       f"(applied twice)")
        for r in revs:
            other = rev_val[o["key"]].get(r)
            if other is not None and other != val:
                bad.append(f"{o['key']}@{r} holds two values: {other} and {val}")
            rev_val[o["key"]][r] = val
        o["crev"] = min(revs)

    # creates of unique keys
    for o in ops.values():
        if o["kind"] != "create":
            continue
        if o["code"] == "AlreadyExists":
            bad.append(f"create {o['key']} answered AlreadyExists: its key is unique, "
                       f"so it was applied twice")
        if final is None:
            continue
        f = final.get(o["key"])
        if o["state"] == "ok" and (f is None or f[0] != o["val"]):
            bad.append(f"acked create {o['key']}={o['val']} (rev {o['rev']}) is "
                       f"{'missing' if f is None else 'changed: ' + str(f)} afterwards")
        if o["state"] == "unknown":
            counts["unknown committed" if f is not None else "unknown absent"] += 1
    # at most one ADDED revision per unique key
    added = defaultdict(set)
    for e in events:
        if e["key"].startswith("u-") and e["type"] == 1:
            added[e["key"]].add(e["rev"])
    for k, revs in added.items():
        if len(revs) > 1:
            bad.append(f"{k} ADDED at revisions {sorted(revs)}: created twice")

    # registers
    regs = defaultdict(list)
    for o in ops.values():
        if o["key"].startswith("r-"):
            regs[o["key"]].append(o)
    for key, lst in regs.items():
        committed = [o for o in lst if "crev" in o]
        committed.sort(key=lambda o: o["crev"])
        revs = [o["crev"] for o in committed]
        # real time: A acked before B sent => rev(A) < rev(B)
        acked = sorted((o for o in committed if o["state"] == "ok"), key=lambda o: o["ack_ts"])
        ack_ts = [a["ack_ts"] for a in acked]
        best = []  # best[i]: the acked write of highest rev among acked[0..i]
        for a in acked:
            best.append(a if not best or a["crev"] > best[-1]["crev"] else best[-1])
        for b in committed:
            i = bisect.bisect_left(ack_ts, b["ts"])  # acks strictly before b's send
            if i and best[i - 1] is not b and best[i - 1]["crev"] >= b["crev"]:
                a = best[i - 1]
                bad.append(f"{key}: {a['val']} acked (rev {a['crev']}) before "
                           f"{b['val']} was sent, yet {b['val']} has rev {b['crev']}")
        # compare-and-set
        for o in lst:
            if o["kind"] != "cas" or o["state"] != "ok":
                continue
            e, r = o["exp"], o["crev"]
            between = [x for x in revs if e < x < r]
            if between:
                bad.append(f"{key}: CAS {o['val']} expected {e}, committed at {r}, but "
                           f"writes committed in between at {between}")
            if e not in revs:
                # its predecessor may be an unknown write nobody saw: only
                # a violation if that revision is known to hold nothing
                counts["cas with unseen predecessor"] += 1
        if final is not None and key in final:
            fval, frev = final[key]
            top = committed[-1] if committed else None
            if top and frev < top["crev"]:
                bad.append(f"{key}: final rev {frev} is older than committed {top['crev']}")
            elif top and frev == top["crev"] and fval != top["val"]:
                bad.append(f"{key}: final {fval}@{frev} but {top['val']} committed at {frev}")
            elif top and frev > top["crev"]:
                o = by_val.get(fval)
                if not o or o["state"] != "unknown":
                    bad.append(f"{key}: final {fval}@{frev} is newer than every known write "
                               f"and not an unknown one")

    print("history: ops %d, acked %d, unacked(unknown) %d, failed %d, events %d%s" % (
        counts["ops"], counts["ok"], counts["unknown"], counts["failed"], counts["events"],
        "" if final is None else ", unknown creates committed %d / absent %d, final objects %d"
        % (counts["unknown committed"], counts["unknown absent"], len(final))))
    print("history: registers %d, committed register writes %d, CAS with unseen predecessor %d"
          % (len(regs), sum(1 for v in seen if by_val.get(v, {}).get("key", "").startswith("r-")),
             counts["cas with unseen predecessor"]))
    if bad:
        print(f"history: {len(bad)} violation(s):")
        for b in bad[:50]:
            print("  " + b)
        return 1
    print("history: linearizable (0 violations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
