#!/usr/bin/env bash
# The agent's cgroup v2 backend on a real cgroup v2 tree with its
# controllers, whatever the host runs: a qemu VM (Debian's cloud kernel) whose
# initramfs is the bookworm rootfs of rootfs.sh plus our build, and whose
# /init mounts cgroup2 at /sys/fs/cgroup and runs, inside:
#   - test_cgroup (the module's selftest: limits, attach, kill, the OOM
#     counter) on that v2 root;
#   - test_agent.sh, the same integration test as on v1: memory.max and
#     cpu.max set from the pod's limits, a pod over its memory limit reported
#     OOMKilled with exit code 137, and the rest of the agent's life cycle.
# Why a VM: a cgroup v1 host keeps memory and cpu in its v1 hierarchies, and
# a controller lives in one hierarchy only, so a v2 container there (as in
# test_systemd_boot.sh) has none of them.
# HS_VM_ACCEL picks qemu's accelerator: tcg (default; about 80 s on 2 cores)
# or kvm (on the host this was written on, /dev/kvm opens and makes VMs, but
# the guest kernel hangs right after its decompressor: see systemd/README.md).
# Needs root; qemu-system-x86 and debootstrap are installed if missing. The
# kernel package is downloaded once (apt-get download, one package) into
# the rootfs cache. Label `system`.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (debootstrap, the VM's root)"; exit 77; }
source "$(dirname "$0")/rootfs.sh"
trap 'rc=$?; rootfs_cleanup; (exit $rc); hs_cleanup' EXIT

need_debs qemu-system-x86_64:qemu-system-x86 debootstrap:debootstrap cpio:cpio

rootfs_ensure

# ---- the kernel: Debian's cloud flavour (virtio and cgroup2 built in)
KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
       awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$KPKG" ] || fail "no linux-image-cloud-amd64 in the apt lists (apt-get update?)"
KDIR=$ROOTFS_CACHE/$KPKG
if [ ! -f "$KDIR/vmlinuz" ]; then
  mkdir -p "$T/kernel"
  (cd "$T/kernel" && apt-get download "$KPKG") >"$T/kernel.log" 2>&1 ||
    fail "apt-get download $KPKG: $(tail -3 "$T/kernel.log")"
  dpkg-deb -x "$T"/kernel/*.deb "$T/kernel/x"
  mkdir -p "$KDIR.tmp.$$"
  cp "$T"/kernel/x/boot/vmlinuz-* "$KDIR.tmp.$$/vmlinuz"
  rm -rf "$KDIR" && mv -T "$KDIR.tmp.$$" "$KDIR" # whole, or not there
fi
lap "kernel: $KPKG"

# ---- the initramfs: the rootfs, our build and tests, and /init
VMROOT=$T/vmroot
cp -a "$ROOTFS/." "$VMROOT/"
BUILD=$(cd "$HS_BIN/.." && pwd)
mkdir -p "$VMROOT/hs/build" "$VMROOT/hs/src"
cp -a "$HS_BIN" "$VMROOT/hs/build/bin"
rm -f "$VMROOT"/hs/build/bin/bench-*
cp -a "$HS_SRC/tests" "$VMROOT/hs/src/"
cat >"$VMROOT/init" <<'EOF'
#!/bin/bash
# PID 1 of the VM: the checks, each result on a line "VM: ...", then off.
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t cgroup2 none /sys/fs/cgroup
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
ip link set lo up
hostname vm
up() { cut -d' ' -f1 /proc/uptime; }
echo "VM: up at $(up) s; kernel $(uname -r); /sys/fs/cgroup $(stat -fc %T /sys/fs/cgroup), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
cd /hs/src
/hs/build/bin/test_cgroup >/tmp/cg.log 2>&1
echo "VM: test_cgroup rc=$? at $(up) s"
grep -E '^(ok|FAIL)|checks failed|oom_kill|group controllers' /tmp/cg.log | sed 's/^/VM:   /'
HS_BIN=/hs/build/bin HS_SRC=/hs/src bash tests/integration/test_agent.sh >/tmp/agent.log 2>&1
echo "VM: test_agent.sh rc=$? at $(up) s"
grep -E '^(ok|FAIL|SKIP)' /tmp/agent.log | sed 's/^/VM:   /'
grep -A30 '^FAIL' /tmp/agent.log | head -40 | sed 's/^/VM:   /'
echo "VM: end"
echo o >/proc/sysrq-trigger
EOF
chmod 755 "$VMROOT/init"
(cd "$VMROOT" && find . | cpio -o -H newc --quiet) >"$T/initramfs.cpio" ||
  fail "cannot make the initramfs"
rm -rf "$VMROOT"
lap "initramfs: $(( $(stat -c %s "$T/initramfs.cpio") / 1048576 )) MiB"

# ---- the VM
ACCEL=${HS_VM_ACCEL:-tcg}
start vm qemu-system-x86_64 -accel "$ACCEL" -smp 2 -m 3072 -nographic -no-reboot \
  -kernel "$KDIR/vmlinuz" -initrd "$T/initramfs.cpio" \
  -append "console=ttyS0 rdinit=/init panic=-1 quiet"
VM_PID=$LAST_PID
wait_for 900 "the VM to finish its checks and power off" exited "$VM_PID"
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
