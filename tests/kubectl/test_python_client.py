#!/usr/bin/python3
"""Debian's python3-kubernetes (22.6) against hs-apiserver (issue 17).

Run by test_python_client.sh with KUBECONFIG (the admin's, from hsctl init)
and API_URL (the gateway). What a user of the library sees: typed models with
the right values, ApiException with the Status, watch events in order.

  list nodes and pods; create a Deployment (a model without kind/apiVersion);
  create it again (409 AlreadyExists); patch its scale (strategic merge);
  watch until it is available; read a pod's log (and tail_lines); watch from
  a list's resourceVersion; delete it and watch its pods go; read it (404).
"""
import json
import os
import sys
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


def check(cond, what):
    if not cond:
        print("FAIL: " + what, file=sys.stderr)
        sys.exit(1)


def ok(what):
    print("ok: " + what)


config.load_kube_config(config_file=os.environ["KUBECONFIG"])
cfg = client.Configuration.get_default_copy()
cfg.host = os.environ["API_URL"]
api = client.ApiClient(cfg)
core = client.CoreV1Api(api)
apps = client.AppsV1Api(api)
NS = "default"

# ---- list
nodes = core.list_node()
names = sorted(n.metadata.name for n in nodes.items)
check(names == ["demo", "demo2"], "list_node: %s" % names)
for n in nodes.items:
    ready = [c.status for c in n.status.conditions if c.type == "Ready"]
    check(ready == ["True"], "node %s Ready: %s" % (n.metadata.name, ready))
check(nodes.metadata.resource_version and int(nodes.metadata.resource_version) > 0,
      "a list's resourceVersion: %r" % nodes.metadata.resource_version)
pods = core.list_namespaced_pod(NS)
check([p.metadata.name for p in pods.items] == ["static-demo2"],
      "list_namespaced_pod: %s" % [p.metadata.name for p in pods.items])
mirror = pods.items[0]
check(mirror.metadata.annotations.get("kubernetes.io/config.mirror"), "the mirror annotation")
check(mirror.spec.node_name == "demo2", "node_name %r" % mirror.spec.node_name)
check(mirror.metadata.creation_timestamp.tzinfo is not None, "creation_timestamp is a datetime")
check(len(core.list_namespaced_pod(NS, label_selector="app=nope").items) == 0, "label_selector")
check(len(core.list_pod_for_all_namespaces(field_selector="spec.nodeName=demo2").items) == 1,
      "field_selector spec.nodeName")
ok("list nodes and pods (typed models, label and field selectors)")

# ---- create a Deployment (the model has no kind/apiVersion set)
dep = client.V1Deployment(
    metadata=client.V1ObjectMeta(name="pyd", labels={"app": "pyd"}),
    spec=client.V1DeploymentSpec(
        replicas=1,
        selector=client.V1LabelSelector(match_labels={"app": "pyd"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "pyd"}),
            spec=client.V1PodSpec(
                termination_grace_period_seconds=1,
                containers=[client.V1Container(
                    name="main", image="busybox",
                    command=["/bin/sh", "-c", "echo pyd up; echo line two; sleep 3600 & wait"])]))))
made = apps.create_namespaced_deployment(NS, dep)
check(made.metadata.name == "pyd" and made.kind == "Deployment" and made.api_version == "apps/v1",
      "create returned %s %s/%s" % (made.api_version, made.kind, made.metadata.name))
check(made.metadata.uid and made.metadata.resource_version, "uid and resourceVersion")
check(made.spec.replicas == 1, "spec.replicas %r" % made.spec.replicas)
check(made.status is not None, "the created Deployment has no status (Kubernetes sends \"status\":{})")
try:
    apps.create_namespaced_deployment(NS, dep)
    check(False, "a second create succeeded")
except ApiException as e:
    check(e.status == 409 and e.reason == "Conflict", "second create: %s %s" % (e.status, e.reason))
    st = json.loads(e.body)
    check(st["reason"] == "AlreadyExists", "reason %s" % st.get("reason"))
    check(st["message"] == 'deployments.apps "pyd" already exists', "message %s" % st.get("message"))
ok("create_namespaced_deployment; again: ApiException 409 AlreadyExists")

# ---- patch its scale
sc = apps.patch_namespaced_deployment_scale("pyd", NS, {"spec": {"replicas": 2}})
check(sc.kind == "Scale" and sc.spec.replicas == 2, "patch scale returned %s %r" % (sc.kind, sc.spec.replicas))
check(apps.read_namespaced_deployment_scale("pyd", NS).spec.replicas == 2, "read scale")
check(apps.read_namespaced_deployment("pyd", NS).spec.replicas == 2, "the deployment's replicas")
ok("patch_namespaced_deployment_scale (strategic merge) to 2")

# ---- watch until available
w = watch.Watch()
seen = []
available = False
for ev in w.stream(apps.list_namespaced_deployment, NS, field_selector="metadata.name=pyd",
                   timeout_seconds=60):
    d = ev["object"]
    check(isinstance(d, client.V1Deployment), "watch yields V1Deployment, not %s" % type(d))
    seen.append(ev["type"])
    check(d.status is not None, "a %s Deployment without status: Kubernetes always sends "
          "\"status\":{}, and python code reads d.status.available_replicas" % ev["type"])
    if (d.status.available_replicas or 0) == 2 and d.status.observed_generation == d.metadata.generation:
        available = True
        w.stop()
check(available, "pyd not available within 60 s; events %s" % seen)
check(seen[0] == "ADDED" and set(seen) <= {"ADDED", "MODIFIED"}, "events %s" % seen)
ok("watch until available (%d events: %s)" % (len(seen), " ".join(seen)))

# ---- read a pod's log
pods = core.list_namespaced_pod(NS, label_selector="app=pyd").items
check(len(pods) == 2, "2 pyd pods: %s" % [p.metadata.name for p in pods])
p = pods[0].metadata.name
deadline = time.time() + 20
log = ""
while time.time() < deadline:
    log = core.read_namespaced_pod_log(p, NS)
    if log == "pyd up\nline two\n":
        break
    time.sleep(0.1)  # polling interval of a deadline wait
check(log == "pyd up\nline two\n", "log of %s: %r" % (p, log))
check(core.read_namespaced_pod_log(p, NS, tail_lines=1) == "line two\n", "tail_lines=1")
check(core.read_namespaced_pod_log(p, NS, container="main") == "pyd up\nline two\n", "container=main")
ok("read_namespaced_pod_log (tail_lines, container)")

# ---- watch from a list's resourceVersion: the changes after it, replayed
lst = core.list_namespaced_pod(NS, label_selector="app=pyd")
rv = lst.metadata.resource_version
core.patch_namespaced_pod(p, NS, {"metadata": {"labels": {"seen": "yes"}}})
got = []
for ev in w.stream(core.list_namespaced_pod, NS, label_selector="app=pyd", resource_version=rv,
                   timeout_seconds=10):
    got.append((ev["type"], ev["object"].metadata.name, ev["object"].metadata.labels.get("seen")))
    if ev["object"].metadata.labels.get("seen") == "yes":
        w.stop()
check(got and got[0] == ("MODIFIED", p, "yes"), "watch from rv %s: %s" % (rv, got))
ok("watch from a list's resourceVersion: MODIFIED first")

# ---- delete, then its pods go
st = apps.delete_namespaced_deployment("pyd", NS)
check(st.status is None or st.status == "Success" or getattr(st, "kind", None) in ("Status", "Deployment"),
      "delete returned %r" % st)
gone = set()
names = {x.metadata.name for x in pods}
lst = core.list_namespaced_pod(NS, label_selector="app=pyd")
left = {x.metadata.name for x in lst.items}
gone = names - left
if left:
    for ev in w.stream(core.list_namespaced_pod, NS, label_selector="app=pyd",
                       resource_version=lst.metadata.resource_version, timeout_seconds=60):
        if ev["type"] == "DELETED":
            gone.add(ev["object"].metadata.name)
        if names <= gone:
            w.stop()
check(names <= gone, "pods not deleted: %s" % (names - gone))
try:
    apps.read_namespaced_deployment("pyd", NS)
    check(False, "pyd still there")
except ApiException as e:
    check(e.status == 404, "read after delete: %s" % e.status)
    check(json.loads(e.body).get("message") == 'deployments.apps "pyd" not found',
          "body %s" % e.body)
ok("delete_namespaced_deployment; its pods DELETED; read: 404 NotFound")
