# rootfs.sh: a Debian bookworm root filesystem for the system tests that
# boot one (test_systemd_boot.sh: systemd-nspawn; test_cgroup_v2_vm.sh: a
# qemu VM). Source it after lib.sh; then `rootfs_ensure` sets ROOTFS.
#
# Cached in $HS_ROOTFS_CACHE (/var/cache/homeostat-test), one tree per
# suite, architecture, variant and package list (their hash names it), so
# changing the list makes a new one. Built atomically: debootstrap fills
# <name>.tmp.<pid> under a lock, and only a complete tree is renamed to
# <name>; an interrupted build is removed (by rootfs_cleanup at exit, or by
# the next build under the lock) and never used. Users never write to it
# (nspawn --volatile=overlay; the VM copies it).

ROOTFS_SUITE=bookworm
ROOTFS_MIRROR=${HS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# systemd to boot; the runtime libraries of our binaries (ldd build/bin/*);
# python3 for the OOM pods and the examples; procps (pgrep) and iproute2
# for test_agent.sh and the VM's loopback.
ROOTFS_PKGS=(systemd systemd-sysv dbus libzmq5 libczmq4 libprotobuf-c1 liblmdb0 libyaml-0-2
             libsystemd0 libmnl0 libnftables1 libnetfilter-conntrack3 libmicrohttpd12 libgnutls30
             libraft2 libuv1 liblz4-1
             python3 procps iproute2)
ROOTFS_CACHE=${HS_ROOTFS_CACHE:-/var/cache/homeostat-test}
ROOTFS_BUILDING=""
ROOTFS_DEBOOTSTRAP_PID=""

# umount_under DIR: unmounts whatever is mounted at or below DIR, deepest
# first (debootstrap mounts /proc and /sys in its target).
umount_under() {
  local m
  for m in $(awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
             sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# rootfs_cleanup: for an exit hook (hs_on_exit); kills an unfinished
# debootstrap (its whole process group) and removes its tree.
rootfs_cleanup() {
  if [ -n "$ROOTFS_DEBOOTSTRAP_PID" ]; then
    kill -9 -- "-$ROOTFS_DEBOOTSTRAP_PID" 2>/dev/null || true
    wait "$ROOTFS_DEBOOTSTRAP_PID" 2>/dev/null || true
  fi
  if [ -n "$ROOTFS_BUILDING" ]; then
    umount_under "$ROOTFS_BUILDING"
    rm -rf --one-file-system "$ROOTFS_BUILDING"
  fi
}

# rootfs_ensure: sets ROOTFS to the cached tree, debootstrapping it first
# when there is none (installs debootstrap if missing).
rootfs_ensure() {
  local key name d
  key=$(printf '%s\n' "$ROOTFS_SUITE" "$(dpkg --print-architecture)" minbase "${ROOTFS_PKGS[@]}" |
        sha256sum | cut -c1-16)
  name=$ROOTFS_SUITE-$key
  ROOTFS=$ROOTFS_CACHE/$name
  mkdir -p "$ROOTFS_CACHE"
  exec 8>"$ROOTFS_CACHE/lock"
  flock -w 300 8 || fail "another run holds $ROOTFS_CACHE/lock for over 300 s"
  if [ ! -d "$ROOTFS" ]; then
    need_debs debootstrap:debootstrap
    # Under the lock, any .tmp is an interrupted build: never reused.
    for d in "$ROOTFS_CACHE/$name".tmp.*; do
      [ -e "$d" ] || continue
      umount_under "$d"
      rm -rf --one-file-system "$d"
    done
    ROOTFS_BUILDING=$ROOTFS_CACHE/$name.tmp.$$
    echo "debootstrap $ROOTFS_SUITE into $ROOTFS (${ROOTFS_PKGS[*]})"
    # In the background so that a signal is handled at once (bash runs a
    # trap only after the foreground command), killing it and its dpkg.
    debootstrap --variant=minbase --include="$(IFS=,; echo "${ROOTFS_PKGS[*]}")" \
      "$ROOTFS_SUITE" "$ROOTFS_BUILDING" "$ROOTFS_MIRROR" >"$T/debootstrap.log" 2>&1 &
    ROOTFS_DEBOOTSTRAP_PID=$!
    wait "$ROOTFS_DEBOOTSTRAP_PID" || fail "debootstrap failed: $(tail -5 "$T/debootstrap.log")"
    ROOTFS_DEBOOTSTRAP_PID=""
    umount_under "$ROOTFS_BUILDING"
    rm -rf "$ROOTFS_BUILDING"/var/cache/apt/archives/*.deb
    mv -T "$ROOTFS_BUILDING" "$ROOTFS" # the one step that makes it usable: atomic
    ROOTFS_BUILDING=""
    lap "rootfs built: $ROOTFS"
  else
    lap "rootfs cached: $ROOTFS"
  fi
  exec 8>&-
}

# need_debs COMMAND:PACKAGE...: installs the packages whose command is missing.
need_debs() {
  local cp missing=()
  for cp in "$@"; do command -v "${cp%%:*}" >/dev/null || missing+=("${cp#*:}"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "installing ${missing[*]}"
  (export DEBIAN_FRONTEND=noninteractive
   apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}") \
    >"$T/apt.log" 2>&1 || fail "cannot install ${missing[*]}: $(tail -5 "$T/apt.log")"
}
