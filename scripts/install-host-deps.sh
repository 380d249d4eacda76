#!/usr/bin/env bash
# Debian packages the libvirt driver and its tests need: libvirt, qemu, and what the tiny test
# guest is built from (a cloud kernel package, busybox-static, cpio, and SYSLINUX on a FAT image
# written with mtools, so it boots from its own disk), and what host networking uses (dnsmasq for
# DHCP, nftables/iptables for filters and NAT, conntrack to forget a disassociated floating IP),
# genisoimage, which writes config drives (Nova uses it too), and cloud-init, whose OpenStack
# reader the tests use to read our config drive and metadata service; chromium, the browser the
# dashboard's tests drive with playwright-core (which never downloads one); and the OpenStack
# clients (python3-openstackclient, python3-novaclient) the facade's tests drive.
set -euo pipefail
pkgs=(libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
      busybox-static cpio syslinux syslinux-common mtools dosfstools iproute2
      dnsmasq-base nftables iptables conntrack genisoimage cloud-init chromium
      python3-openstackclient python3-novaclient)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  # cloud-init is here only as a reader for the tests: it must never configure this host at boot.
  mkdir -p /etc/cloud && touch /etc/cloud/cloud-init.disabled
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
