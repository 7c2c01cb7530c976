#!/usr/bin/python3
"""chaos_soak.py: a chaos soak of the whole Homeostat set (issue 14).

The driver starts the set in isolation (its own temp dir, a free port pair,
its own cgroup parent, TMPDIR inside the temp dir): hs-bus, hs-store,
hs-scheduler, two hs-replicas, hs-jobs, hs-prober, one real hs-agent node
(real processes in cgroups) and an hs-hollow process with hollow nodes. It is
also their supervisor: what it kills it starts again after a short random
delay, like systemd's Restart=always; a component that exits by itself is a
violation (and is restarted too).

For --duration seconds, at once:
  - churn (two threads running hsctl): two Deployments, one on the real node
    and one on the hollow nodes, rolled (template changes) and scaled; Jobs
    created on both pools and deleted once complete; bare pods created
    (generateName) and deleted on both pools. Every write carries a unique
    annotation chaos.homeostat.io/seq and goes in the ledger with its outcome:
    acked (hsctl exit 0), refused (the store answered an error), or unknown
    (no answer: it may or may not have been applied);
  - faults: every 1-5 s (random), kill -9 of one or two random components,
    every type included (bus, store, agent, hollow, controllers);
  - a sampler: consistent snapshots of the store (hsctl get -o json), checked
    against the limits (replicas + maxSurge, the max over a scale change;
    parallelism; completions) and against the ledger (an acked create is
    there until the driver deletes it; a Deployment shows its last acked
    write or a later one);
  - a history: hs-tap on ev. records every event the store publishes.

Then the faults stop and the driver measures the time from the last kill
until everything converged (Deployments rolled and available, Jobs complete,
pods as declared, nodes Ready; the issue fixes 10 s), checks the ledger and
the history (nothing acked lost, nothing applied twice, no revision
published in two store epochs, no sequence on two objects), tears the set
down the way an operator would (controllers, then pods through the store,
then the daemons with SIGTERM) and checks that the teardown left no process,
cgroup, mount or temp file behind, before removing them forcibly.

It prints one table; the exit code is 0 with no violation, 1 otherwise, 77
when it cannot run here (not root, no writable cgroups).

  /usr/bin/python3 tests/chaos/chaos_soak.py --bin build/bin --duration 60
"""
import argparse
import collections
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SEQ = "chaos.homeostat.io/seq"
POOL = "chaos.homeostat.io/pool"
RUN_ANN = "homeostat.io/simulate-run-seconds"
SURGE = {"web-real": 1, "web-hollow": 2}
POOL_OF = {"web-real": "real", "web-hollow": "hollow"}
RANGE = {"web-real": (1, 3), "web-hollow": (3, 8)}
CONVERGE_LIMIT_S = 10.0


def now():
    return time.monotonic()


class Soak:
    def __init__(self, a):
        self.a = a
        self.bin = os.path.abspath(a.bin)
        self.rng = random.Random(a.seed)
        self.t = tempfile.mkdtemp(prefix="hs-chaos-", dir=a.tmpdir)
        self.cg = "hs-chaos-%d-%d" % (os.getpid(), self.rng.randrange(1 << 30))
        self.lock = threading.RLock()
        self.stop_churn = threading.Event()
        self.stop_faults = threading.Event()
        self.stop_sampler = threading.Event()
        self.burst = threading.Event()
        self.procs = {}          # name -> dict(argv, popen, type, restart_at)
        self.kills = collections.Counter()
        self.restarts = collections.Counter()
        self.pauses = collections.Counter()
        self.recovery_kills = 0
        self.violations = []
        self.notes = []
        self.seq = 0
        self.ledger = []         # every write
        self.last_kill = None
        self.last_fault = None
        self.last_write = None
        self.last_restart = None
        self.samples = 0
        self.worst = collections.Counter()
        # Deployment -> replicas values that may still be in transition
        self.inflight = {d: set() for d in SURGE}
        self.deploy_last = {}    # Deployment -> its last write (ledger entry)
        self.bare = {}           # pod name -> ledger entry of its acked create
        self.bare_deleted = set()
        self.jobs = {}           # job name -> ledger entry of its create
        self.jobs_deleted = set()
        self.hsctl_calls = 0
        self.tmp = os.path.join(self.t, "tmp")
        os.makedirs(self.tmp)
        self.env = dict(os.environ, TMPDIR=self.tmp)

    # ------------------------------------------------------------ utilities
    def violation(self, msg):
        with self.lock:
            self.violations.append(msg)
        print("VIOLATION: " + msg, file=sys.stderr, flush=True)

    def log(self, msg):
        print("%8.2f %s" % (now() - self.t0, msg), file=self.events_log, flush=True)

    def hsctl(self, *args, timeout=20):
        self.hsctl_calls += 1
        argv = [os.path.join(self.bin, "hsctl"), "--bus", self.busaddr,
                "--request-timeout", str(timeout)] + list(args)
        try:
            r = subprocess.run(argv, capture_output=True, text=True, env=self.env,
                               timeout=timeout + 15)
            return r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired:
            return 124, "", "hsctl did not exit"

    def get_json(self, kinds, timeout=5):
        rc, out, _ = self.hsctl("get", kinds, "-o", "json", timeout=timeout)
        if rc != 0:
            return None
        try:
            d = json.loads(out)
        except ValueError:
            return None
        return d.get("items", [d] if "kind" in d else [])

    # ------------------------------------------------------------ the set
    def free_port_pair(self):
        lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
        lo = max(lo, 12000)
        for _ in range(500):
            p = self.rng.randrange(10000, lo - 2)
            socks = []
            try:
                for port in (p, p + 1):
                    s = socket.socket()
                    socks.append(s)
                    s.bind(("127.0.0.1", port))
                return p
            except OSError:
                pass
            finally:
                for s in socks:
                    s.close()
        raise SystemExit("no free port pair")

    def define(self):
        b = lambda n: os.path.join(self.bin, n)
        bus = ["--bus", self.busaddr]
        d = {}
        d["bus"] = ("bus", [b("hs-bus"), "--bind", "127.0.0.1", "--port", str(self.port)])
        d["store"] = ("store", [b("hs-store")] + bus + ["--data", os.path.join(self.t, "store")])
        d["scheduler"] = ("scheduler", [b("hs-scheduler")] + bus + ["--instance", "s1"])
        d["replicas-r1"] = ("replicas", [b("hs-replicas")] + bus + ["--instance", "r1"])
        d["replicas-r2"] = ("replicas", [b("hs-replicas")] + bus + ["--instance", "r2"])
        d["jobs"] = ("jobs", [b("hs-jobs")] + bus + ["--instance", "j1", "--backoff-base-ms", "200",
                                                      "--backoff-max-ms", "1000"])
        d["prober"] = ("prober", [b("hs-prober")] + bus + ["--instance", "p1"])
        d["agent"] = ("agent", [b("hs-agent")] + bus + [
            "--node-name", "real-1", "--labels", POOL + "=real",
            "--state-dir", os.path.join(self.t, "agent-real-1"),
            "--cgroup-parent", self.cg + "/real-1", "--backoff-initial", "1", "--backoff-max", "2"])
        d["hollow"] = ("hollow", [b("hs-hollow"), str(self.a.hollow_nodes)] + bus + [
            "--node-prefix", "hollow-", "--labels", POOL + "=hollow",
            "--status-interval-ms", "2000"])
        os.makedirs(os.path.join(self.t, "store"), exist_ok=True)
        for name, (typ, argv) in d.items():
            self.procs[name] = {"type": typ, "argv": argv, "popen": None, "restart_at": None,
                                "killed": False}

    def spawn(self, name):
        p = self.procs[name]
        logf = open(os.path.join(self.t, name + ".log"), "ab")
        p["popen"] = subprocess.Popen(p["argv"], stdout=logf, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=self.env,
                                      start_new_session=True)
        logf.close()
        p["killed"] = False
        p["restart_at"] = None
        self.log("started %s pid %d" % (name, p["popen"].pid))

    def wait_until(self, secs, what, fn, interval=0.05):
        deadline = now() + secs
        while now() < deadline:
            try:
                if fn():
                    return True
            except Exception:
                pass
            time.sleep(interval)  # polling interval inside a deadline
        raise SystemExit("timed out after %ss waiting for %s" % (secs, what))

    def bus_listening(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port + 1), timeout=0.2):
                return True
        except OSError:
            return False

    def start_set(self):
        self.port = self.free_port_pair()
        self.busaddr = "127.0.0.1:%d" % self.port
        self.define()
        self.spawn("bus")
        self.wait_until(10, "hs-bus to listen", self.bus_listening)
        self.spawn("store")
        self.wait_until(20, "hs-store to answer", lambda: self.hsctl("get", "nodes", timeout=2)[0] == 0)
        for n in ("agent", "hollow", "scheduler", "replicas-r1", "replicas-r2", "jobs", "prober"):
            self.spawn(n)
        want = self.a.hollow_nodes + 1

        def ready():
            nodes = self.get_json("nodes")
            return nodes is not None and sum(1 for n in nodes if node_ready(n)) == want
        self.wait_until(60, "%d Ready nodes" % want, ready)

        def synced():
            rc, out, _ = self.hsctl("get", "components", "--no-headers", timeout=3)
            comps = [l.split()[0] for l in out.splitlines() if l.strip()]
            return all(comps.count("hs-" + c) >= k for c, k in
                       (("scheduler", 1), ("replicas", 2), ("jobs", 1), ("prober", 1)))
        self.wait_until(60, "every controller heartbeating", synced)
        self.tap_out = open(os.path.join(self.t, "tap.jsonl"), "wb")
        self.tap = subprocess.Popen([os.path.join(self.bin, "hs-tap"), "--bus", self.busaddr,
                                     "ev.", "ack.", "-o", "json"], stdout=self.tap_out,
                                    stderr=open(os.path.join(self.t, "tap.err"), "wb"),
                                    env=self.env, start_new_session=True)
        self.wait_until(10, "hs-tap to subscribe",
                        lambda: "listening on" in open(os.path.join(self.t, "tap.err")).read())

    # ------------------------------------------------------------ supervisor and faults
    def supervise_once(self):
        t = now()
        with self.lock:
            for name, p in self.procs.items():
                po = p["popen"]
                if po is None:
                    continue
                rc = po.poll()
                if rc is None:
                    continue
                if not p["killed"]:
                    self.violation("%s (pid %d) exited by itself with %s; see %s.log"
                                   % (name, po.pid, rc, name))
                    p["killed"] = True
                    p["restart_at"] = t + self.rng.uniform(0.1, 1.0)
                if p["restart_at"] is not None and t >= p["restart_at"]:
                    self.spawn(name)
                    self.restarts[p["type"]] += 1
                    self.last_restart = now()
                    # Now and then the restarted one dies again while it
                    # recovers (the store replaying its log, the agent
                    # adopting its pods, a controller loading its snapshot).
                    if not self.stop_faults.is_set() and self.rng.random() < 0.15:
                        p["kill_at"] = now() + self.rng.uniform(0.05, 0.4)
            for name, p in self.procs.items():
                po = p["popen"]
                if p.get("kill_at") is None or t < p["kill_at"]:
                    continue
                p["kill_at"] = None
                if po is None or po.poll() is not None or p["killed"] or self.stop_faults.is_set():
                    continue
                os.kill(po.pid, signal.SIGKILL)
                p["killed"] = True
                p["restart_at"] = now() + self.rng.uniform(0.1, 1.0)
                self.kills[p["type"]] += 1
                self.recovery_kills += 1
                self.last_kill = self.last_fault = now()
                self.log("kill -9 %s pid %d while it recovers" % (name, po.pid))

    def faults(self):
        while not self.stop_faults.is_set():
            self.stop_faults.wait(self.rng.uniform(1.0, 5.0))
            if self.stop_faults.is_set():
                break
            if self.rng.random() < 0.25:
                self.pause(self.rng.choice(("bus", "store")))
                continue
            with self.lock:
                alive = [n for n, p in self.procs.items()
                         if p["popen"] is not None and p["popen"].poll() is None and not p["killed"]]
                k = self.rng.choice((1, 1, 2))
                # every type equally likely, whatever its instance count
                types = sorted({self.procs[n]["type"] for n in alive})
                victims = []
                for typ in self.rng.sample(types, min(k, len(types))):
                    victims.append(self.rng.choice([n for n in alive if self.procs[n]["type"] == typ]))
            # A kill of the bus or the store is aimed at writes in flight: a
            # burst of creates first, the kill a few ms into it, so some
            # commands are committed and their acks lost, and the clients'
            # retries (same request id) must get the remembered answer.
            if any(self.procs[n]["type"] in ("bus", "store") for n in victims):
                self.burst.set()
                time.sleep(self.rng.uniform(0.05, 0.5))  # into the burst
            with self.lock:
                for n in victims:
                    p = self.procs[n]
                    if p["killed"] or p["popen"].poll() is not None:
                        continue  # it died meanwhile: the supervisor has it
                    try:
                        os.kill(p["popen"].pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    p["killed"] = True
                    p["restart_at"] = now() + self.rng.uniform(0.1, 1.0)
                    self.kills[p["type"]] += 1
                    self.last_kill = self.last_fault = now()
                    self.log("kill -9 %s pid %d" % (n, p["popen"].pid))

    def pause(self, name):
        """A stall: SIGSTOP, then SIGCONT, around a burst of creates. Every
        client in flight resends (same request id) meanwhile, so the store
        gets a command and its retries together and must apply it once. The
        store stops before the burst (its clients join and send, then wait
        for it for 0.5-1.5 s); the bus stops a little into the burst (a
        client that has not joined yet would only wait)."""
        with self.lock:
            p = self.procs[name]
            if p["killed"] or p["popen"].poll() is not None:
                return
            pid = p["popen"].pid
        if name == "bus":
            self.burst.set()
            time.sleep(self.rng.uniform(0.1, 0.4))  # into the burst
        os.kill(pid, signal.SIGSTOP)
        self.log("SIGSTOP %s pid %d" % (name, pid))
        if name == "store":
            self.burst.set()
        time.sleep(self.rng.uniform(0.5, 1.5))  # the length of the stall
        os.kill(pid, signal.SIGCONT)
        self.log("SIGCONT %s pid %d" % (name, pid))
        with self.lock:
            self.pauses[p["type"]] += 1
            self.last_fault = now()

    def supervisor(self):
        while not self.stop_sampler.is_set():
            self.supervise_once()
            self.stop_sampler.wait(0.05)  # the polling interval; ends at once on stop

    # ------------------------------------------------------------ churn
    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def write(self, verb, kind, name, manifest=None, e=None):
        """One hsctl write; its ledger entry (outcome acked / refused / unknown).
        E, when given, is the entry to fill (already listed elsewhere)."""
        seq = self.next_seq() if manifest is not None else None
        e = {} if e is None else e
        e.update({"seq": seq, "verb": verb, "kind": kind, "name": name, "t0": now() - self.t0})
        args = [verb]
        if manifest is not None:
            if isinstance(manifest, dict):
                manifest["metadata"].setdefault("annotations", {})[SEQ] = str(seq)
                e["manifest"] = manifest
            path = os.path.join(self.t, "m", "%d.json" % seq)
            with open(path, "w") as f:
                json.dump(manifest, f)
            args += ["-f", path]
        else:
            args += [kind, name]
        rc, out, err = self.hsctl(*args)
        self.last_write = now()
        e["t1"] = self.last_write - self.t0
        e["out"] = out.strip()
        e["err"] = err.strip()
        if rc == 0:
            e["outcome"] = "acked"
        elif "Error from server" in err and "ServiceUnavailable" not in err \
                and "InternalError" not in err:
            e["outcome"] = "refused"
        else:
            e["outcome"] = "unknown"
        with self.lock:
            self.ledger.append(e)
        self.log("write #%s %s %s/%s: %s %s" % (seq, verb, kind, name, e["outcome"],
                                                (out + err).strip().replace("\n", " | ")))
        return e

    def deployment(self, d, replicas, version):
        pool = POOL_OF[d]
        cmd = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": d},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": d}},
                         "strategy": {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxSurge": SURGE[d], "maxUnavailable": 1}},
                         "template": {"metadata": {"labels": {"app": d}},
                                      "spec": {"nodeSelector": {POOL: pool},
                                               "terminationGracePeriodSeconds": 1,
                                               "containers": [{"name": "web", "command": cmd,
                                                               "env": [{"name": "VERSION",
                                                                        "value": version}]}]}}}}

    def churn_deployments(self):
        state = {d: {"replicas": RANGE[d][0] + 1, "version": 1} for d in SURGE}
        for d in SURGE:
            self.apply_deployment(d, state[d])
        while not self.stop_churn.is_set():
            self.stop_churn.wait(self.rng.uniform(0.2, 1.5))
            if self.stop_churn.is_set():
                break
            d = self.rng.choice(sorted(SURGE))
            s = state[d]
            if self.rng.random() < 0.5:
                s["version"] += 1
            else:
                lo, hi = RANGE[d]
                s["replicas"] = self.rng.choice([r for r in range(lo, hi + 1) if r != s["replicas"]])
            self.apply_deployment(d, s)

    def apply_deployment(self, d, s):
        m = self.deployment(d, s["replicas"], "v%d" % s["version"])
        # Before the write: from now on up to max(old, new) + maxSurge; and the
        # sampler must know a write is in flight (no t1 yet) before it lowers it.
        e = {"replicas": s["replicas"], "version": "v%d" % s["version"]}
        with self.lock:
            self.inflight[d].add(s["replicas"])
            self.deploy_last.setdefault(d, []).append(e)
        self.write("apply", "deployment", d, m, e)
        if e["outcome"] == "acked" and not e["out"].endswith(" configured") \
                and not e["out"].endswith(" created"):
            self.violation("apply #%d of deployment %s (a new seq) answered %r: applied before?"
                           % (e["seq"], d, e["out"]))

    def pod_manifest(self, pool):
        tol = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                "effect": "NoExecute"},
               {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}]
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"generateName": "bare-%s-" % pool,
                             "labels": {"chaos": "bare", "pool": pool}},
                "spec": {"nodeSelector": {POOL: pool}, "terminationGracePeriodSeconds": 1,
                         "tolerations": tol,
                         "containers": [{"name": "main", "command":
                                         ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]}]}}

    def job_manifest(self, name, pool, completions, parallelism):
        cmd = ["sh", "-c", "sleep 0.3"]
        return {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "labels": {"chaos": "job"}},
                "spec": {"completions": completions, "parallelism": parallelism,
                         "backoffLimit": 50,
                         "template": {"metadata": {"annotations": {RUN_ANN: "0.5"}},
                                      "spec": {"restartPolicy": "Never",
                                               "nodeSelector": {POOL: pool},
                                               "terminationGracePeriodSeconds": 1,
                                               "containers": [{"name": "work", "command": cmd}]}}}}

    def bursts(self):
        while not self.stop_churn.is_set():
            if not self.burst.wait(0.2):
                continue
            self.burst.clear()
            if self.stop_churn.is_set():
                break
            ts = [threading.Thread(target=self.create_bare,
                                   args=(self.rng.choice(("hollow", "hollow", "real")),))
                  for _ in range(self.a.burst)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

    def create_bare(self, pool):
        e = self.write("create", "pod", None, self.pod_manifest(pool))
        if e["outcome"] == "acked":
            parts = e["out"].split()
            if len(parts) != 2 or parts[1] != "created" or not parts[0].startswith("pod/"):
                self.violation("create #%d answered %r" % (e["seq"], e["out"]))
                return
            e["name"] = parts[0][4:]
            with self.lock:
                self.bare[e["name"]] = e

    def churn_workloads(self):
        while not self.stop_churn.is_set():
            self.stop_churn.wait(self.rng.uniform(0.1, 1.0))
            if self.stop_churn.is_set():
                break
            with self.lock:
                live_bare = [n for n in self.bare if n not in self.bare_deleted]
            r = self.rng.random()
            pool = self.rng.choice(("real", "hollow"))
            if r < 0.35 or (r < 0.55 and not live_bare):
                if len(live_bare) >= 8:
                    continue
                self.create_bare(pool)
            elif r < 0.55 or len(live_bare) > 16:
                name = self.rng.choice(live_bare)
                with self.lock:
                    self.bare_deleted.add(name)  # from now on it may be gone
                e = self.write("delete", "pod", name)
                e["target_seq"] = self.bare[name]["seq"]
                if e["outcome"] == "refused":
                    self.violation("delete of pod %s (acked create #%d) refused: %s"
                                   % (name, self.bare[name]["seq"], e["err"]))
            elif r < 0.85:
                live = [j for j in self.jobs if j not in self.jobs_deleted]
                if len(live) >= 6:
                    continue
                seq = self.seq + 1
                name = "job-%s-%d" % (pool, seq)
                comp = self.rng.randint(2, 4)
                par = self.rng.randint(1, 2)
                e = self.write("create", "job", name, self.job_manifest(name, pool, comp, par))
                if e["seq"] != seq:
                    # another thread took the number: the name stays unique anyway
                    pass
                e["completions"], e["parallelism"] = comp, par
                if e["outcome"] == "acked":
                    if e["out"] != "job.batch/%s created" % name:
                        self.violation("create #%d of job %s answered %r" % (e["seq"], name, e["out"]))
                    with self.lock:
                        self.jobs[name] = e
                elif "AlreadyExists" in e["err"]:
                    self.violation("create #%d of the new job %s: %s (applied twice?)"
                                   % (e["seq"], name, e["err"]))
            else:
                # delete a Job the sampler saw Complete
                done = [j for j in self.jobs if j not in self.jobs_deleted and j in self.complete_seen]
                if not done:
                    continue
                name = self.rng.choice(done)
                with self.lock:
                    self.jobs_deleted.add(name)
                e = self.write("delete", "job", name)
                if e["outcome"] == "refused":
                    self.violation("delete of job %s (acked create) refused: %s" % (name, e["err"]))

    # ------------------------------------------------------------ sampler
    def sampler(self):
        self.complete_seen = set()
        while not self.stop_sampler.is_set():
            # What the snapshot must show: the writes acked before it began,
            # less what the driver deleted (or began to) before it ended; the
            # limits of every write begun before it ended.
            ts = now() - self.t0
            with self.lock:
                acked_bare = {n: e for n, e in self.bare.items() if e["t1"] < ts}
                acked_jobs = {n: e for n, e in self.jobs.items() if e["t1"] < ts}
                acked_dep = {}
                for d, es in self.deploy_last.items():
                    a = [e for e in es if e.get("t1", 1e9) < ts and e.get("outcome") == "acked"]
                    if a:
                        acked_dep[d] = a[-1]["seq"]
            items = self.get_json("pods,deployments,jobs", timeout=3)
            if items is None:
                self.stop_sampler.wait(0.05)  # polling interval: the store is down
                continue
            with self.lock:
                for n in self.bare_deleted:
                    acked_bare.pop(n, None)
                for n in self.jobs_deleted:
                    acked_jobs.pop(n, None)
                limits = {d: max(v) + SURGE[d] for d, v in self.inflight.items() if v}
            self.samples += 1
            self.check_sample(items, acked_bare, acked_jobs, acked_dep, limits)

    def check_sample(self, items, acked_bare, acked_jobs, acked_dep, limits):
        pods = [i for i in items if i.get("kind") == "Pod"]
        deps = {i["metadata"]["name"]: i for i in items if i.get("kind") == "Deployment"}
        jobs = {i["metadata"]["name"]: i for i in items if i.get("kind") == "Job"}
        n = self.samples
        active = collections.Counter()
        job_active = collections.Counter()
        job_succeeded = collections.Counter()
        names = set()
        for p in pods:
            m, st = p["metadata"], p.get("status", {})
            names.add(m["name"])
            lab = m.get("labels", {})
            terminal = st.get("phase") in ("Succeeded", "Failed")
            if lab.get("app") in SURGE and not terminal and not m.get("deletionTimestamp"):
                active[lab["app"]] += 1
            jn = lab.get("job-name")
            if jn:
                if not terminal:
                    job_active[jn] += 1
                if st.get("phase") == "Succeeded":
                    job_succeeded[jn] += 1
        for d, c in active.items():
            self.worst[d] = max(self.worst[d], c)
            if d in limits and c > limits[d]:
                self.violation("sample %d: %d active pods of deployment %s, at most %d allowed"
                               % (n, c, d, limits[d]))
        for jn, c in job_active.items():
            j = jobs.get(jn)
            if j and c > j["spec"].get("parallelism", 1):
                self.violation("sample %d: %d active pods of job %s, parallelism %d"
                               % (n, c, jn, j["spec"].get("parallelism", 1)))
        for jn, j in jobs.items():
            comp = j["spec"].get("completions", 1)
            s = j.get("status", {})
            if s.get("succeeded", 0) > comp or job_succeeded[jn] > comp:
                self.violation("sample %d: job %s has %d succeeded (status) and %d Succeeded pods, "
                               "completions %d" % (n, jn, s.get("succeeded", 0), job_succeeded[jn], comp))
            if any(c.get("type") == "Complete" and c.get("status") == "True"
                   for c in s.get("conditions", [])):
                self.complete_seen.add(jn)
        # the ledger, sampled: acked creates still there, Deployments not older
        # than their last acked write
        for name, e in acked_bare.items():
            if name not in names:
                self.violation("sample %d: pod %s (acked create #%d at %.2fs) is missing"
                               % (n, name, e["seq"], e["t1"]))
        for name, e in acked_jobs.items():
            if name not in jobs:
                self.violation("sample %d: job %s (acked create #%d at %.2fs) is missing"
                               % (n, name, e["seq"], e["t1"]))
        for d, seq in acked_dep.items():
            got = deps.get(d)
            have = int(got["metadata"].get("annotations", {}).get(SEQ, 0)) if got else 0
            if have < seq:
                self.violation("sample %d: deployment %s shows write #%d, older than the acked #%d"
                               % (n, d, have, seq))
        # a Deployment fully rolled at its latest write's replicas: the
        # transition is over, the limit comes down to that
        with self.lock:
            for d, dep in deps.items():
                es = self.deploy_last.get(d, [])
                if not es or "t1" not in es[-1] or es[-1]["outcome"] != "acked":
                    continue
                want = es[-1]["replicas"]
                if deployment_done(dep, want) and active[d] <= want and \
                        int(dep["metadata"].get("annotations", {}).get(SEQ, 0)) == es[-1]["seq"]:
                    self.inflight[d] = {want}

    # ------------------------------------------------------------ convergence
    def converged(self):
        items = self.get_json("pods,deployments,jobs,nodes", timeout=3)
        if items is None:
            return "the store does not answer"
        pods = [i for i in items if i.get("kind") == "Pod"]
        deps = {i["metadata"]["name"]: i for i in items if i.get("kind") == "Deployment"}
        jobs = {i["metadata"]["name"]: i for i in items if i.get("kind") == "Job"}
        nodes = [i for i in items if i.get("kind") == "Node"]
        if sum(1 for x in nodes if node_ready(x)) != self.a.hollow_nodes + 1:
            return "not every node Ready"
        for d in SURGE:
            final = self.final_deploy_write(d)
            dep = deps.get(d)
            if dep is None:
                return "deployment %s missing" % d
            if not deployment_done(dep, dep["spec"].get("replicas", 1)):
                return "deployment %s not rolled: %s" % (d, json.dumps(dep.get("status")))
            mine = [p for p in pods if p["metadata"].get("labels", {}).get("app") == d
                    and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
            if len(mine) != dep["spec"].get("replicas", 1):
                return "deployment %s: %d pods, %d declared" % (d, len(mine), dep["spec"]["replicas"])
            for p in mine:
                if p["metadata"].get("deletionTimestamp") or p.get("status", {}).get("phase") != "Running":
                    return "deployment %s: pod %s not Running" % (d, p["metadata"]["name"])
                env = p["spec"]["containers"][0].get("env", [])
                if final and env and env[0].get("value") != dep_version(dep):
                    return "deployment %s: pod %s at an old version" % (d, p["metadata"]["name"])
        for name, e in self.jobs.items():
            if name in self.jobs_deleted:
                continue
            j = jobs.get(name)
            if j is None:
                return "job %s missing" % name
            s = j.get("status", {})
            if not any(c.get("type") == "Complete" and c.get("status") == "True"
                       for c in s.get("conditions", [])):
                return "job %s not Complete: %s" % (name, json.dumps(s))
        for j in jobs.values():
            if self.delete_acked("job", j["metadata"]["name"]):
                return "job %s deleted but still there" % j["metadata"]["name"]
        byname = {p["metadata"]["name"]: p for p in pods}
        for name in self.bare:
            p = byname.get(name)
            if name in self.bare_deleted:
                if p is not None and self.bare_delete_acked(name):
                    return "pod %s deleted but still there" % name
                continue
            if p is None:
                return "pod %s missing" % name
            if p.get("status", {}).get("phase") != "Running":
                return "pod %s is %s" % (name, p.get("status", {}).get("phase"))
        # the real node runs what the store says, no more and no less: each
        # Running pod's process is alive, and every process in a container
        # cgroup belongs to a pod of the node that is not finished
        live_uids = set()
        for p in pods:
            st = p.get("status", {})
            if p["spec"].get("nodeName") != "real-1" or st.get("phase") in ("Succeeded", "Failed"):
                continue
            live_uids.add(p["metadata"]["uid"])
            if st.get("phase") == "Running":
                for cs in st.get("containerStatuses", []):
                    pid = cs.get("containerID", "").split("/")[-1]
                    if "running" in cs.get("state", {}) and pid.isdigit() and \
                            not os.path.exists("/proc/" + pid):
                        return "pod %s Running, its process %s is gone" % (p["metadata"]["name"], pid)
        for uid, pids in self.workload_cgroups().items():
            if uid not in live_uids:
                return "processes %s run for pod uid %s, which the real node should not run" \
                    % (sorted(pids), uid)
        # a job deleted: its pods go too (garbage collection)
        for p in pods:
            jn = p["metadata"].get("labels", {}).get("job-name")
            if jn and jn not in jobs:
                return "pod %s of the deleted job %s still there" % (p["metadata"]["name"], jn)
        return None

    def delete_acked(self, kind, name):
        return any(e["verb"] == "delete" and e["kind"] == kind and e["name"] == name
                   and e["outcome"] == "acked" for e in self.ledger)

    def bare_delete_acked(self, name):
        return self.delete_acked("pod", name)

    def final_deploy_write(self, d):
        es = self.deploy_last.get(d, [])
        return es[-1] if es else None

    # ------------------------------------------------------------ final checks
    def check_final(self):
        items = self.get_json("pods,deployments,jobs", timeout=10)
        if items is None:
            self.violation("final: the store does not answer")
            return
        pods = [i for i in items if i.get("kind") == "Pod"]
        deps = {i["metadata"]["name"]: i for i in items if i.get("kind") == "Deployment"}
        jobs = {i["metadata"]["name"]: i for i in items if i.get("kind") == "Job"}
        self.checked = 0
        # 1. every acked write: present, or superseded by a later write of ours
        for d in SURGE:
            es = self.deploy_last.get(d, [])
            acked = [i for i, e in enumerate(es) if e["outcome"] == "acked"]
            if not acked:
                self.violation("deployment %s: no write of it was acked" % d)
                continue
            self.checked += len(acked)
            last = acked[-1]
            # what may legitimately be there: the last acked write, or one sent after it
            # whose outcome we do not know
            allowed = {es[last]["seq"]: es[last]}
            for e in es[last + 1:]:
                if e["outcome"] == "unknown":
                    allowed[e["seq"]] = e
            dep = deps.get(d)
            if dep is None:
                self.violation("deployment %s (acked write #%d) is missing" % (d, es[last]["seq"]))
                continue
            have = int(dep["metadata"].get("annotations", {}).get(SEQ, 0))
            e = allowed.get(have)
            if e is None:
                self.violation("deployment %s holds write #%d; expected #%d (last acked) or "
                               "a later unacked one %s" % (d, have, es[last]["seq"],
                                                           sorted(allowed)))
                continue
            if dep["spec"].get("replicas") != e["replicas"] or dep_version(dep) != e["version"]:
                self.violation("deployment %s holds #%d's annotation but replicas %s version %s, "
                               "not %s %s" % (d, have, dep["spec"].get("replicas"),
                                              dep_version(dep), e["replicas"], e["version"]))
        byname = {p["metadata"]["name"]: p for p in pods}
        for name, e in self.bare.items():
            self.checked += 1
            deleted = self.bare_delete_acked(name)
            p = byname.get(name)
            if deleted and p is not None:
                self.violation("pod %s: its delete was acked, it is still there" % name)
            if not deleted and name not in self.bare_deleted and p is None:
                self.violation("pod %s (acked create #%d) is missing" % (name, e["seq"]))
            if p is not None and p["metadata"].get("annotations", {}).get(SEQ) != str(e["seq"]):
                self.violation("pod %s carries seq %s, its create was #%d"
                               % (name, p["metadata"].get("annotations", {}).get(SEQ), e["seq"]))
        for name, e in self.jobs.items():
            self.checked += 1
            j = jobs.get(name)
            deleted = self.delete_acked("job", name)
            if deleted and j is not None:
                self.violation("job %s: its delete was acked, it is still there" % name)
            if not deleted and name not in self.jobs_deleted and j is None:
                self.violation("job %s (acked create #%d) is missing" % (name, e["seq"]))
            if j is not None:
                s = j.get("status", {})
                if s.get("succeeded", 0) != e["completions"]:
                    self.violation("job %s: %s succeeded, completions %d"
                                   % (name, s.get("succeeded"), e["completions"]))
        for e in self.ledger:
            if e["verb"] == "delete" and e["outcome"] == "acked":
                self.checked += 1
        # 2. nothing applied twice: at most one object per seq, now and in the history
        per_seq = collections.defaultdict(set)
        for i in items:
            s = i["metadata"].get("annotations", {}).get(SEQ)
            if s and i.get("kind") in ("Pod", "Job"):
                per_seq[s].add(i["metadata"].get("uid"))
        self.check_history(per_seq)
        for s, uids in per_seq.items():
            if len(uids) > 1:
                self.violation("write #%s made %d objects (uids %s): a create applied twice"
                               % (s, len(uids), sorted(uids)))

    def check_history(self, per_seq):
        """The tap's record of every event: no revision in two epochs, revisions
        never go back, no seq on two objects, no job with more Succeeded pods
        than completions."""
        self.tap_events = 0
        self.acks_seen = self.acks_replayed = 0
        rev_epoch = {}
        last_rev = 0
        stream_seq = {}
        succeeded = collections.defaultdict(set)
        self.tap_out.flush()
        with open(os.path.join(self.t, "tap.jsonl"), "rb") as f:
            for line in f:
                try:
                    m = json.loads(line)
                except ValueError:
                    continue
                env = m.get("envelope", {})
                ack = env.get("ack")
                if ack is not None:
                    self.acks_seen += 1
                    if ack.get("replayed"):
                        self.acks_replayed += 1
                    continue
                ev = env.get("event")
                if not ev:
                    continue
                self.tap_events += 1
                rev = int(ev.get("revision", 0))
                epoch = str(ev.get("epoch"))
                # the object is a oneof: {"pod": {...}}, {"job": {...}}, ...
                kind, obj = next(iter(ev.get("object", {"": {}}).items()))
                meta = obj.get("metadata", {})
                if rev in rev_epoch and rev_epoch[rev] != epoch:
                    self.violation("revision %d was published in epoch %s and again in epoch %s "
                                   "(an acked change lost across a store restart)"
                                   % (rev, rev_epoch[rev], epoch))
                rev_epoch.setdefault(rev, epoch)
                if rev < last_rev:
                    self.violation("revision went back from %d to %d (%s %s)"
                                   % (last_rev, rev, ev.get("type"), meta.get("name")))
                last_rev = max(last_rev, rev)
                key = (epoch, ev.get("stream"), int(ev.get("seq", 0)))
                ident = (ev.get("type"), meta.get("uid"), rev)
                if key in stream_seq and stream_seq[key] != ident:
                    self.violation("stream %s seq %s carried two events: %s and %s"
                                   % (key[1], key[2], stream_seq[key], ident))
                stream_seq[key] = ident
                s = meta.get("annotations", {}).get(SEQ)
                if s and kind in ("pod", "job"):
                    per_seq[s].add(meta.get("uid"))
                jn = meta.get("labels", {}).get("job-name")
                if jn and obj.get("status", {}).get("phase") == "Succeeded":
                    succeeded[jn].add(meta.get("uid"))
        self.history_seqs = len(per_seq)
        self.history_succeeded = sum(len(u) for u in succeeded.values())
        for jn, uids in succeeded.items():
            e = self.jobs.get(jn)
            if e and len(uids) > e["completions"]:
                self.violation("job %s: %d distinct pods Succeeded over the run, completions %d"
                               % (jn, len(uids), e["completions"]))

    # ------------------------------------------------------------ teardown and leaks
    def teardown(self):
        """The set's own teardown, as an operator does it: owners' controllers
        first, then every pod through the store (the agents stop them), then
        the daemons with SIGTERM."""
        self.stop_sampler.set()
        for n in ("replicas-r1", "replicas-r2", "jobs"):
            self.term(n)
        self.hsctl("delete", "jobs", "--all", timeout=10)
        self.hsctl("delete", "deployments", "--all", timeout=10)
        self.hsctl("delete", "pods", "--all", "--grace-period=1", timeout=10)
        deadline = now() + 30
        while now() < deadline:
            items = self.get_json("pods", timeout=3)
            if items == []:
                break
            time.sleep(0.1)  # polling interval inside a deadline
        else:
            self.violation("teardown: pods still in the store 30 s after their delete")
        for n in ("scheduler", "prober", "agent", "hollow", "store"):
            self.term(n)
        if self.tap.poll() is None:
            self.tap.terminate()
            self.tap.wait()
        self.term("bus")

    def term(self, name):
        po = self.procs[name]["popen"]
        self.procs[name]["killed"] = True
        if po is None or po.poll() is not None:
            return
        po.terminate()
        try:
            po.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.violation("teardown: %s did not exit within 20 s of SIGTERM" % name)
            po.kill()
            po.wait()

    def our_pids(self):
        pids = set()
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if self.t.encode() in f.read():
                        pids.add(int(d))
            except OSError:
                pass
        for root, dirs, files in os.walk("/sys/fs/cgroup"):
            if self.cg in root and "cgroup.procs" in files:
                try:
                    pids.update(int(x) for x in open(os.path.join(root, "cgroup.procs")).read().split())
                except (OSError, ValueError):
                    pass
        return pids

    def our_cgroups(self):
        out = []
        for root, dirs, files in os.walk("/sys/fs/cgroup"):
            for d in dirs:
                path = os.path.join(root, d)
                if ("/" + self.cg) in path:
                    out.append(path)
        return out

    def workload_cgroups(self):
        """pod uid -> pids in its container cgroups (<parent>/real-1/<uid>_<c>)."""
        out = collections.defaultdict(set)
        for root, dirs, files in os.walk("/sys/fs/cgroup"):
            if ("/" + self.cg + "/real-1/") not in root + "/" or "cgroup.procs" not in files:
                continue
            leaf = os.path.basename(root)
            if "_" not in leaf:
                continue
            try:
                pids = open(os.path.join(root, "cgroup.procs")).read().split()
            except OSError:
                continue
            if pids:
                out[leaf.split("_")[0]].update(int(x) for x in pids)
        return out

    def our_mounts(self):
        with open("/proc/self/mountinfo") as f:
            return [l.split()[4] for l in f if self.t in l or self.cg in l]

    def leaks(self):
        found = []
        pids = self.our_pids()
        if pids:
            found.append("processes: " + ", ".join(
                "%d (%s)" % (p, open("/proc/%d/cmdline" % p, "rb").read()[:80].replace(b"\0", b" ").decode(errors="replace"))
                for p in sorted(pids) if os.path.exists("/proc/%d" % p)))
        # The agent's cgroups live under --cgroup-parent <ours>/real-1: it
        # creates and removes real-1 and what is under it; <ours> is the
        # driver's (a systemd slice's place), removed by the cleanup.
        cgs = [c for c in self.our_cgroups() if (self.cg + "/") in c]
        if cgs:
            found.append("cgroups: " + ", ".join(sorted(cgs)))
        mounts = self.our_mounts()
        if mounts:
            found.append("mounts: " + ", ".join(mounts))
        left = []
        for root, dirs, files in os.walk(self.tmp):
            left += [os.path.join(root, x) for x in dirs + files]
        if left:
            found.append("temp files: " + ", ".join(left[:10]))
        return found

    def force_cleanup(self):
        for name, p in self.procs.items():
            po = p["popen"]
            if po is not None and po.poll() is None:
                try:
                    os.killpg(po.pid, signal.SIGKILL)
                except OSError:
                    pass
                po.wait()
        if getattr(self, "tap", None) is not None and self.tap.poll() is None:
            self.tap.kill()
            self.tap.wait()
        for _ in range(3):
            for pid in self.our_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        for _ in range(50):
            cgs = sorted(self.our_cgroups(), key=len, reverse=True)
            if not cgs:
                break
            for c in cgs:
                try:
                    os.rmdir(c)
                except OSError:
                    pass
            time.sleep(0.1)  # polling interval: a cgroup empties after its last process is reaped
        for m in sorted(self.our_mounts(), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        if self.a.keep:
            print("kept %s" % self.t)
        else:
            shutil.rmtree(self.t, ignore_errors=True)

    # ------------------------------------------------------------ the run
    def run(self):
        os.makedirs(os.path.join(self.t, "m"))
        self.events_log = open(os.path.join(self.t, "driver.log"), "w")
        self.t0 = now()
        self.complete_seen = set()
        self.start_set()
        threads = [threading.Thread(target=f, daemon=True) for f in
                   (self.supervisor, self.sampler, self.churn_deployments, self.churn_workloads,
                    self.bursts)]
        for t in threads:
            t.start()
        fault_thread = threading.Thread(target=self.faults, daemon=True)
        t_start = now()
        fault_thread.start()
        # churn and faults for the duration
        while now() - t_start < self.a.duration:
            time.sleep(0.2)  # the run's clock
        self.stop_faults.set()
        fault_thread.join()
        self.stop_churn.set()
        for t in threads[2:]:
            t.join()
        # every killed component is started again
        self.wait_until(30, "every component restarted", lambda: all(
            p["popen"].poll() is None for p in self.procs.values()), interval=0.05)
        # The chaos ends with the later of the last fault (a kill, or a
        # pause's SIGCONT) and the last write of the churn: the clock of
        # convergence starts there.
        end = max(self.last_fault or t_start, self.last_write or t_start)
        deadline = end + 60
        why = last_why = None
        while True:
            why = self.converged()
            if why != last_why:
                self.log("converging: %s" % (why or "done"))
                last_why = why
            if why is None:
                break
            if now() > deadline:
                break
            time.sleep(0.1)  # polling interval inside a deadline
        self.converge_s = now() - end
        self.after_kill_s = now() - (self.last_kill or t_start)
        self.end_after_kill_s = end - (self.last_kill or t_start)
        self.last_restart_s = (self.last_restart - end) if self.last_restart else 0.0
        if why is not None:
            self.violation("not converged %.1f s after the last fault or write: %s"
                           % (self.converge_s, why))
        elif self.converge_s > CONVERGE_LIMIT_S:
            self.violation("converged %.1f s after the last fault or write, more than %.0f s"
                           % (self.converge_s, CONVERGE_LIMIT_S))
        self.stop_sampler.set()
        threads[1].join()
        self.check_final()
        self.teardown()
        threads[0].join()
        for leak in self.leaks():
            self.violation("the teardown left " + leak)

    def table(self):
        types = ["bus", "store", "scheduler", "replicas", "jobs", "prober", "agent", "hollow"]
        acked = sum(1 for e in self.ledger if e["outcome"] == "acked")
        unknown = sum(1 for e in self.ledger if e["outcome"] == "unknown")
        refused = sum(1 for e in self.ledger if e["outcome"] == "refused")
        print()
        print("chaos soak: %d s, seed %s, %d hollow nodes + 1 real node"
              % (self.a.duration, self.a.seed, self.a.hollow_nodes))
        print("%-12s %6s %9s %7s" % ("COMPONENT", "KILLS", "RESTARTS", "PAUSES"))
        for t in types:
            print("%-12s %6d %9d %7d" % (t, self.kills[t], self.restarts[t], self.pauses[t]))
        print("%-12s %6d %9d %7d" % ("total", sum(self.kills.values()), sum(self.restarts.values()),
                                    sum(self.pauses.values())))
        print("(%d of the kills hit a component 0.05-0.4 s after its restart)" % self.recovery_kills)
        print()
        print("%-34s %d (%d acked, %d refused, %d unknown)"
              % ("driver writes", len(self.ledger), acked, refused, unknown))
        print("%-34s %d" % ("acked writes checked", getattr(self, "checked", 0)))
        print("%-34s %d" % ("store samples", self.samples))
        print("%-34s %d (%d writes' objects, %d job pods Succeeded)"
              % ("events in the history", getattr(self, "tap_events", 0),
                 getattr(self, "history_seqs", 0), getattr(self, "history_succeeded", 0)))
        print("%-34s %s" % ("most pods web-real / web-hollow",
                            "%d / %d (limits %d / %d + maxSurge)"
                            % (self.worst["web-real"], self.worst["web-hollow"],
                               RANGE["web-real"][1], RANGE["web-hollow"][1])))
        print("%-34s %d of %d (retries answered from the store's memory)"
              % ("acks replayed", getattr(self, "acks_replayed", 0), getattr(self, "acks_seen", 0)))
        print("%-34s %.1f s (limit %.0f s; the last restart at %+.1f s)"
              % ("converged after the chaos ended", getattr(self, "converge_s", -1),
                 CONVERGE_LIMIT_S, getattr(self, "last_restart_s", 0)))
        print("%-34s %.1f s (the chaos ended %.1f s after it)"
              % ("converged after the last kill", getattr(self, "after_kill_s", -1),
                 getattr(self, "end_after_kill_s", 0)))
        print("%-34s %d" % ("violations", len(self.violations)))
        for v in self.violations[:50]:
            print("  - " + v)
        if len(self.violations) > 50:
            print("  ... and %d more" % (len(self.violations) - 50))


def node_ready(n):
    for c in n.get("status", {}).get("conditions", []):
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def dep_version(dep):
    env = dep["spec"]["template"]["spec"]["containers"][0].get("env", [])
    return env[0]["value"] if env else None


def deployment_done(dep, n):
    s = dep.get("status", {})
    return (dep["metadata"].get("generation") == s.get("observedGeneration")
            and s.get("updatedReplicas", 0) == n and s.get("availableReplicas", 0) == n
            and s.get("replicas", 0) == n and dep["spec"].get("replicas", 1) == n)


def can_run():
    if os.geteuid() != 0:
        return "needs root (the real agent makes cgroups and namespaces)"
    probe = "/sys/fs/cgroup/pids" if os.path.isdir("/sys/fs/cgroup/pids") else "/sys/fs/cgroup"
    probe = os.path.join(probe, "hs-chaos-probe-%d" % os.getpid())
    try:
        os.mkdir(probe)
        os.rmdir(probe)
    except OSError as e:
        return "cannot create a cgroup under /sys/fs/cgroup: %s" % e
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.environ.get("HS_BIN", "build/bin"))
    ap.add_argument("--duration", type=int, default=60, help="seconds of churn and faults")
    ap.add_argument("--hollow-nodes", type=int, default=4)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--burst", type=int, default=6,
                    help="creates in flight when the bus or the store is killed")
    ap.add_argument("--tmpdir", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir and its logs")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = random.randrange(1 << 31)
    why = can_run()
    if why:
        print("SKIP: " + why)
        return 77
    s = Soak(a)
    print("chaos soak in %s (seed %d, cgroup parent %s)" % (s.t, a.seed, s.cg), flush=True)
    failed = None

    def on_term(signum, frame):
        raise SystemExit("killed by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)
    try:
        s.run()
    except BaseException as e:  # noqa: the cleanup below must run
        failed = e
        s.violation("the driver stopped: %r" % (e,))
    finally:
        s.stop_faults.set()
        s.stop_churn.set()
        s.stop_sampler.set()
        if s.violations:
            for f in sorted(os.listdir(s.t)):
                if f.endswith(".log"):
                    with open(os.path.join(s.t, f), errors="replace") as fh:
                        tail = fh.readlines()[-15:]
                    print("== %s\n%s" % (f, "".join(tail)), file=sys.stderr)
        s.force_cleanup()
    s.table()
    if isinstance(failed, KeyboardInterrupt):
        return 130
    return 1 if s.violations else 0


if __name__ == "__main__":
    sys.exit(main())
