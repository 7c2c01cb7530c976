#!/usr/bin/env bash
# The agent's cgroup v2 backend on a real cgroup v2 tree with its
# controllers, under systemd, whatever the host runs: a qemu VM (Debian's
# cloud kernel) booting systemd as PID 1 from an initramfs made of the
# bookworm rootfs of rootfs.sh, `cmake --install` of ours, and our build and
# tests. A oneshot unit (hs-vmcheck.service) runs, inside:
#   - test_cgroup (the module's selftest: limits, attach, kill, the OOM
#     counter) on that v2 root;
#   - test_agent.sh, the same integration test as on v1: memory.max and
#     cpu.max set from the pod's limits, a pod over its memory limit reported
#     OOMKilled with exit code 137, and the rest of the agent's life cycle;
#   - homeostat.target and the four controllers, all active; a pod over its
#     memory limit OOMKilled (137, and its Event); a pod with limits.cpu
#     500m and limits.memory 64Mi with cpu.max, memory.max and cpu.weight.
# Each result comes back as a "VM: ..." line on the serial console.
# Why a VM: a cgroup v1 host keeps memory and cpu in its v1 hierarchies, and
# a controller lives in one hierarchy only, so a v2 container there (as in
# test_systemd_boot.sh) has none of them.
# HS_VM_ACCEL picks qemu's accelerator: tcg (default; about 2 min on 2
# cores) or kvm (on the host this was written on, /dev/kvm opens and makes
# VMs, but the guest kernel hangs right after its decompressor: see
# systemd/README.md).
# Needs root; qemu-system-x86, debootstrap and cpio are installed if
# missing. The kernel package is downloaded once (apt-get download, one
# package) into the rootfs cache. Label `system`.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (debootstrap, the VM's root)"; exit 77; }
source "$(dirname "$0")/rootfs.sh"
hs_on_exit rootfs_cleanup

need_debs qemu-system-x86_64:qemu-system-x86 debootstrap:debootstrap cpio:cpio

rootfs_ensure

# ---- the kernel: Debian's cloud flavour (virtio and cgroup2 built in)
command -v apt-cache >/dev/null || { echo "SKIP: no apt-cache (the VM's kernel is Debian's)"; exit 77; }
KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
       awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$KPKG" ] || fail "no linux-image-cloud-amd64 in the apt lists (apt-get update?)"
KDIR=$ROOTFS_CACHE/$KPKG
if [ ! -f "$KDIR/vmlinuz" ]; then
  mkdir -p "$T/kernel"
  (cd "$T/kernel" && apt-get download "$KPKG") >"$T/kernel.log" 2>&1 ||
    fail "apt-get download $KPKG: $(tail -3 "$T/kernel.log")"
  dpkg-deb -x "$T"/kernel/*.deb "$T/kernel/x"
  kernel_tmp() { rm -rf "$KDIR.tmp.$$"; }
  hs_on_exit kernel_tmp # an interrupted copy never stays in the cache
  mkdir -p "$KDIR.tmp.$$"
  cp "$T"/kernel/x/boot/vmlinuz-* "$KDIR.tmp.$$/vmlinuz"
  rm -rf "$KDIR" && mv -T "$KDIR.tmp.$$" "$KDIR" # whole, or not there
fi
lap "kernel: $KPKG"

# ---- the initramfs: the rootfs, `make install` of ours, our build and
# tests, and the checks as a unit systemd runs once it is up
VMROOT=$T/vmroot
cp -a "$ROOTFS/." "$VMROOT/"
BUILD=$(cd "$HS_BIN/.." && pwd)
DESTDIR=$VMROOT cmake --install "$BUILD" >"$T/install.log" 2>&1 || fail "cmake --install:
$(tail -20 "$T/install.log")"
ENVFILE=$(find "$VMROOT/etc" -path '*/homeostat/homeostat.env' -print -quit)
[ -n "$ENVFILE" ] || fail "homeostat.env not installed under $VMROOT"
sed -i 's/^HS_AGENT_ARGS=.*/HS_AGENT_ARGS="--node-name vm1"/' "$ENVFILE"
# The cluster's keys where the units look for them (homeostat.env's HS_PKI),
# as a user runs `hsctl init --node NODE` first; the checks' hsctl is the admin.
PKI=$(sed -n 's/^HS_PKI=//p' "$ENVFILE")
[ -n "$PKI" ] || fail "homeostat.env names no HS_PKI"
hsctl init --pki "$VMROOT$PKI" --node vm1 --user root --no-config >"$T/init.log" 2>&1 ||
  fail "hsctl init: $(cat "$T/init.log")"
mkdir -p "$VMROOT/hs/build" "$VMROOT/hs/src"
cp -a "$HS_BIN" "$VMROOT/hs/build/bin"
rm -f "$VMROOT"/hs/build/bin/bench-*
cp -a "$HS_SRC/tests" "$VMROOT/hs/src/"
cat >"$VMROOT/hs/limits.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: oom
spec:
  restartPolicy: Never
  containers:
  - name: main
    command: ["python3", "-c", "b = bytearray(256 * 1024 * 1024)"]
    resources:
      limits:
        memory: 32Mi
---
apiVersion: v1
kind: Pod
metadata:
  name: cpu
spec:
  restartPolicy: Never
  containers:
  - name: main
    command: ["sh", "-c", "sleep 3600"]
    resources:
      limits:
        cpu: 500m
        memory: 64Mi
EOF
cat >"$VMROOT/hs/vmcheck" <<'EOF'
#!/bin/bash
# The VM's checks (hs-vmcheck.service, once systemd is up): each result on
# a line "VM: ..." on the console; then the VM powers off.
exec >/dev/console 2>&1
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
up() { cut -d' ' -f1 /proc/uptime; }
echo "VM: up at $(up) s; PID 1 $(cat /proc/1/comm); kernel $(uname -r); /sys/fs/cgroup $(stat -fc %T /sys/fs/cgroup), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
# where the boot spent its time: the journal's gaps of over 5 s
journalctl -b -o short-monotonic --no-pager 2>/dev/null |
  awk 'match($0, /^\[ *[0-9.]+\]/) { t = substr($0, 2, RLENGTH - 2) + 0
         if (t - p > 5) printf "VM: boot: %d s before: %s\n", t - p, $0; p = t }'
cd /hs/src
/hs/build/bin/test_cgroup >/tmp/cg.log 2>&1
echo "VM: test_cgroup rc=$? at $(up) s"
grep -E '^(ok|FAIL)|checks failed|oom_kill|group controllers' /tmp/cg.log | sed 's/^/VM:   /'
HS_BIN=/hs/build/bin HS_SRC=/hs/src bash tests/integration/test_agent.sh >/tmp/agent.log 2>&1
echo "VM: test_agent.sh rc=$? at $(up) s"
grep -E '^(ok|FAIL|SKIP)' /tmp/agent.log | sed 's/^/VM:   /'
grep -A30 '^FAIL' /tmp/agent.log | head -40 | sed 's/^/VM:   /'
# The units, under systemd, with the controllers there; hsctl as the admin.
export HS_CREDENTIAL=@PKI@/creds/admin-root.cred
systemctl start homeostat.target hs-scheduler@1 hs-replicas@1 hs-jobs@1 hs-prober@1
echo "VM: units: $(systemctl is-active hs-bus hs-store hs-agent hs-scheduler@1 hs-replicas@1 hs-jobs@1 hs-prober@1 | tr '\n' ' ')at $(up) s"
hsctl apply -f /hs/limits.yaml
phase() { hsctl get pod "$1" -o json | python3 -c "import json,sys; print(json.load(sys.stdin)['status'].get('phase'))"; }
deadline=$(( $(date +%s) + 120 ))
until [ "$(phase oom)" = Failed ] && [ "$(phase cpu)" = Running ]; do
  [ "$(date +%s)" -lt $deadline ] || break
  sleep 0.2 # the polling interval of a deadline wait
done
hsctl get pod oom -o json | python3 -c "import json,sys
t = json.load(sys.stdin)['status']['containerStatuses'][0]['state'].get('terminated') or {}
print('VM: oom pod: reason=%s exitCode=%s' % (t.get('reason'), t.get('exitCode')))"
echo "VM: oom pod events: $(hsctl describe pod oom | grep -c 'OOMKilled .*killed by the kernel')"
uid=$(hsctl get pod cpu -o json | python3 -c "import json,sys; print(json.load(sys.stdin)['metadata']['uid'])")
g=/sys/fs/cgroup/homeostat/vm1/${uid}_main
echo "VM: cpu pod: phase=$(phase cpu) cpu.max=$(cat $g/cpu.max) memory.max=$(cat $g/memory.max) cpu.weight=$(cat $g/cpu.weight)"
echo "VM: end at $(up) s"
systemctl poweroff --no-block
EOF
sed -i "s|@PKI@|$PKI|" "$VMROOT/hs/vmcheck"
chmod 755 "$VMROOT/hs/vmcheck"
cat >"$VMROOT/etc/systemd/system/hs-vmcheck.service" <<'EOF'
[Unit]
Description=Homeostat's cgroup v2 checks (test_cgroup_v2_vm.sh)
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/hs/vmcheck
EOF
ln -s /etc/systemd/system/hs-vmcheck.service \
  "$VMROOT/etc/systemd/system/multi-user.target.wants/hs-vmcheck.service"
(cd "$VMROOT" && find . | cpio -o -H newc --quiet) >"$T/initramfs.cpio" ||
  fail "cannot make the initramfs"
rm -rf "$VMROOT"
lap "initramfs: $(( $(stat -c %s "$T/initramfs.cpio") / 1048576 )) MiB"

# ---- the VM
# No login prompt on the console: its getty waits for dev-ttyS0.device,
# which never comes without udev (not in the rootfs), and the boot then
# waits out the device's 90 s job timeout.
NO_GETTY=systemd.mask=serial-getty@ttyS0.service
ACCEL=${HS_VM_ACCEL:-tcg}
start vm qemu-system-x86_64 -accel "$ACCEL" -smp 2 -m 3072 -nographic -no-reboot \
  -kernel "$KDIR/vmlinuz" -initrd "$T/initramfs.cpio" \
  -append "console=ttyS0 rdinit=/sbin/init panic=-1 quiet systemd.show_status=0 $NO_GETTY"
VM_PID=$LAST_PID
wait_for 600 "the VM to finish its checks and power off" exited "$VM_PID"
wait "$VM_PID" || fail "qemu exited $?"
lap "the VM ran and powered off"
# (the first line may follow the firmware's terminal escapes)
tr -d '\r' <"$T/vm.log" | grep -ao 'VM:.*' >"$T/vm.out" || true
cat "$T/vm.out"
grep -q '^VM: end' "$T/vm.out" || fail "the VM did not finish its checks"
ctrls=$(sed -n 's/^VM: up at .*controllers: //p' "$T/vm.out")
for c in memory cpu pids; do
  case " $ctrls " in *" $c "*) ;; *) fail "the VM's cgroup2 root has no $c controller: $ctrls" ;; esac
done
grep -q '^VM: test_cgroup rc=0 ' "$T/vm.out" || fail "test_cgroup failed on cgroup v2"
grep -q '^VM:   *v2 group controllers: "cpu memory pids"' "$T/vm.out" ||
  fail "test_cgroup's v2 group did not get memory, cpu and pids"
grep -q '^VM: test_agent.sh rc=0 ' "$T/vm.out" || fail "test_agent.sh failed on cgroup v2"
for want in "pod runs as pid 1 of its own namespaces, in its cgroup, with its limits" \
            "OOMKilled reported"; do
  grep -qF "VM:   ok: $want" "$T/vm.out" || fail "test_agent.sh on v2 did not say: ok: $want"
done
pass "cgroup v2 with memory, cpu, pids: test_cgroup and test_agent.sh pass (memory.max, cpu.max, OOMKilled 137, as on v1)"
grep -q '^VM: up at .*; PID 1 systemd;' "$T/vm.out" || fail "PID 1 in the VM is not systemd"
grep -q '^VM: units: \(active \)\{7\}at ' "$T/vm.out" ||
  fail "not every unit active: $(grep '^VM: units' "$T/vm.out")"
grep -q '^VM: oom pod: reason=OOMKilled exitCode=137$' "$T/vm.out" || fail "the oom pod under systemd"
grep -q '^VM: oom pod events: 1$' "$T/vm.out" || fail "no OOMKilled Event"
grep -q '^VM: cpu pod: phase=Running cpu.max=50000 100000 memory.max=67108864 cpu.weight=20$' \
  "$T/vm.out" || fail "the cpu pod's limits under systemd"
pass "under systemd on cgroup v2: homeostat.target active; OOMKilled, exit code 137 and its Event; cpu.max '50000 100000', memory.max 64Mi, cpu.weight 20"
