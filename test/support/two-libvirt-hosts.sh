#!/usr/bin/env bash
# Two libvirt "hosts" on one machine for move tests: each is a network namespace (joined to the
# other by a veth pair, for migration traffic) running its own libvirtd with private run, state and
# config folders, so the same domain UUID can exist on both, as on two real hosts.
#   two-libvirt-hosts.sh up|down      (root; state under $ORRERY_HOSTS_DIR, default /tmp/orrery-two-hosts)
# Prints, on `up`, one connection URI per line; each daemon also listens on qemu+tcp://10.252.0.N/system
# inside the namespaces, for migrations.
set -euo pipefail
W=${ORRERY_HOSTS_DIR:-/tmp/orrery-two-hosts}
NET=10.252.0
uri() { echo "qemu+unix:///system?socket=$W/h$1/run/libvirt-sock"; }

up() {
  for n in 1 2; do
    if virsh -q -c "$(uri $n)" version >/dev/null 2>&1; then continue; fi
    local H=$W/h$n
    mkdir -p "$H"/{run,lib,cache,log,etc}
    cp -a /etc/libvirt/. "$H/etc/"
    rm -f "$H"/etc/qemu/*.xml "$H"/etc/qemu/networks/autostart/*
    # TCP without auth, only on the namespace's own veth address: the peer daemon connects here for
    # a peer-to-peer live migration.
    printf 'host_uuid = "0000000%s-0000-4000-8000-00000000000%s"\nauth_unix_rw = "none"\nlisten_tls = 0\nlisten_tcp = 1\nlisten_addr = "%s.%s"\nauth_tcp = "none"\n' \
      "$n" "$n" "$NET" "$n" > "$H/etc/libvirtd.conf"
    # qemu as root: no per-start capability re-probe; no ownership games with files outside the namespace.
    printf 'user = "root"\ngroup = "root"\ndynamic_ownership = 0\nremember_owner = 0\nmigration_address = "%s.%s"\nmigration_host = "%s.%s"\n' \
      "$NET" "$n" "$NET" "$n" > "$H/etc/qemu.conf"
    ip netns add "orr-h$n" 2>/dev/null || true
    ip -n "orr-h$n" link set lo up
  done
  if ! ip -n orr-h1 link show orr-v1 >/dev/null 2>&1; then
    ip link add orr-v1 type veth peer name orr-v2
    for n in 1 2; do
      ip link set "orr-v$n" netns "orr-h$n"
      ip -n "orr-h$n" addr add "$NET.$n/24" dev "orr-v$n"
      ip -n "orr-h$n" link set "orr-v$n" up
    done
  fi
  for n in 1 2; do
    if virsh -q -c "$(uri $n)" version >/dev/null 2>&1; then continue; fi
    local H=$W/h$n
    # Its own hostname too (UTS namespace): libvirt refuses a migration between hosts of the same name.
    ip netns exec "orr-h$n" unshare --mount --uts --propagation private bash -c "
      hostname orr-h$n
      mount --bind $H/run /run/libvirt; mount --bind $H/lib /var/lib/libvirt
      mount --bind $H/cache /var/cache/libvirt; mount --bind $H/log /var/log/libvirt; mount --bind $H/etc /etc/libvirt
      /usr/sbin/virtlogd -d -p /run/libvirt/virtlogd.pid
      /usr/sbin/libvirtd -d --listen -p /run/libvirt/libvirtd.pid"
  done
  for n in 1 2; do
    for _ in $(seq 100); do virsh -q -c "$(uri $n)" version >/dev/null 2>&1 && break; sleep 0.1; done
    virsh -q -c "$(uri $n)" version >/dev/null
    uri $n
  done
}

down() {
  for n in 1 2; do
    for d in $(virsh -q -c "$(uri $n)" list --all --name 2>/dev/null); do
      virsh -q -c "$(uri $n)" destroy "$d" >/dev/null 2>&1 || true
      virsh -q -c "$(uri $n)" undefine --managed-save "$d" >/dev/null 2>&1 || true
    done
    for d in libvirtd virtlogd; do
      f=$W/h$n/run/$d.pid
      [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
  done
  sleep 1
  for n in 1 2; do ip netns del "orr-h$n" 2>/dev/null || true; done
}

"$@"
