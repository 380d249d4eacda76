#!/usr/bin/env bash
# Builds the tiny real test guest once: a bootable disk image (FAT + SYSLINUX) holding Debian's
# cloud kernel and a busybox initramfs, so the image Orrery uploads is the very thing that boots.
# Everything comes from Debian packages; the kernel .deb is only extracted, never installed.
# Usage: build.sh [out-dir]   (default $ORRERY_GUEST_DIR or /var/cache/orrery-test-guest)
# Prints the out dir. Idempotent: a stamp holding this script's hash skips rebuilding.
set -euo pipefail
OUT=${1:-${ORRERY_GUEST_DIR:-/var/cache/orrery-test-guest}}
STAMP=$(sha256sum "$0" | cut -d' ' -f1)
built() { [ -f "$OUT/guest.qcow2" ] && [ "$(cat "$OUT/stamp" 2>/dev/null)" = "$STAMP" ]; }
if built; then echo "$OUT"; exit 0; fi

need=(busybox-static cpio syslinux syslinux-common mtools dosfstools qemu-utils)
missing=(); for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run scripts/install-host-deps.sh)" >&2; exit 1
fi

mkdir -p "$OUT"
# Test files may ask for the guest at once: one builds, the others wait and find it built.
exec 9>"$OUT/.lock"; flock 9
if built; then echo "$OUT"; exit 0; fi
WORK=$(mktemp -d "$OUT/.build.XXXXXX"); trap 'rm -rf "$WORK"' EXIT

# Kernel: the version the cloud meta-package currently points at.
KPKG=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || { echo "linux-image-cloud-amd64 not in the apt lists (run apt-get update)" >&2; exit 1; }
KVER=${KPKG#linux-image-}
(cd "$WORK" && apt-get -o APT::Sandbox::User=root download -qq "$KPKG" && dpkg-deb -x "$KPKG"_*.deb kernel)

# Initramfs: busybox plus the modules for virtio disks, the ACPI power button, and a config drive
# (Nova's ISO 9660 CD-ROM, on virtio-scsi: the cloud kernel has no AHCI driver).
R=$WORK/root
mkdir -p "$R"/{bin,proc,sys,dev,tmp,var/log,lib/mod,etc/acpi/PWRF}
M=$WORK/kernel/lib/modules/$KVER/kernel
for f in drivers/virtio/{virtio_ring,virtio,virtio_pci_legacy_dev,virtio_pci_modern_dev,virtio_pci}.ko \
         drivers/block/virtio_blk.ko net/core/failover.ko drivers/net/{net_failover,virtio_net}.ko \
         drivers/char/virtio_console.ko drivers/input/evdev.ko drivers/acpi/button.ko \
         drivers/scsi/{scsi_common,scsi_mod,virtio_scsi,sr_mod}.ko drivers/cdrom/cdrom.ko fs/isofs/isofs.ko; do
  cp "$M/$f" "$R/lib/mod/"
done
cp /bin/busybox "$R/bin/busybox"
cat > "$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
# virtio_ring must load before virtio, or the disk never shows up.
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk failover net_failover virtio_net \
         virtio_console evdev button scsi_common scsi_mod virtio_scsi cdrom sr_mod isofs; do
  insmod /lib/mod/$m.ko 2>/dev/null
done
printf '#!/bin/sh\necho ORRERY-GUEST-POWEROFF >/dev/console\nsync\npoweroff -f\n' > /etc/acpi/PWRF/00000080
chmod +x /etc/acpi/PWRF/00000080
# busybox acpid dies silently without -d when it cannot open its log; then ACPI is ignored.
acpid -f -d -c /etc/acpi >/dev/null 2>&1 &
echo "ORRERY-GUEST-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime) disks=$(ls /sys/block | tr '\n' ' ')"
# As a cloud image does: DHCP on the first NIC, in the background so a guest without one boots as fast.
ip link set lo up
# Drivers probe in the background: wait (briefly) for the devices the machine has.
has_virtio() { grep -qx "$1" /sys/bus/virtio/devices/*/device 2>/dev/null; }
wait_until() { for _ in $(seq 50); do eval "$1" && return 0; sleep 0.1; done; return 1; }
if has_virtio 0x0001 && wait_until '[ -e /sys/class/net/eth0 ]'; then
  ip link set eth0 up
  ( udhcpc -i eth0 -t 20 -T 1 -A 1 -b -O mtu -O staticroutes -s /etc/udhcpc.script >/dev/null 2>&1 ) &
fi
# The guest-agent channel (image property hw_qemu_guest_agent): a line shell for tests, each command's
# output followed by an end marker with its exit code.
has_virtio 0x0003 && wait_until 'ls /sys/class/virtio-ports/* >/dev/null 2>&1'
for p in /sys/class/virtio-ports/*; do
  [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] || continue
  dev=/dev/${p##*/}
  # A virtio port opens once, so one descriptor serves both ways. A read while no host side is
  # connected ends at once, and an idle open port can miss what a new host side sends: reopen it.
  # (What is sent while it is closed is lost: clients probe until a command answers.)
  # The redirection is the inner loop's, not an exec: a failed open must not end the shell.
  ( while true; do
      while read -r line <&3; do
        sh -c "$line" >&3 2>&1; echo "ORRERY-GUEST-DONE rc=$?" >&3
      done 3<>"$dev"
      sleep 0.2
    done ) &
done
exec setsid cttyhack sh
INIT
chmod +x "$R/init"
cat > "$R/etc/udhcpc.script" <<'DHCP'
#!/bin/sh
# udhcpc calls this with the lease in its environment: apply it and say what it got on the console.
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    for r in $router; do ip route add default via "$r" dev "$interface" 2>/dev/null; break; done
    echo "ORRERY-GUEST-DHCP $1 interface=$interface ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu" >/dev/console
    # As cloud-init's OpenStack datasource does once the network is up: read the metadata service.
    [ "$1" = bound ] && ( for f in meta_data.json user_data; do
        echo "ORRERY-GUEST-METADATA-BEGIN $f"; wget -q -O - "http://169.254.169.254/openstack/latest/$f"
        echo; echo "ORRERY-GUEST-METADATA-END $f"
      done >/dev/console 2>&1 ) & ;;
  leasefail) echo "ORRERY-GUEST-DHCP leasefail interface=$interface" >/dev/console ;;
esac
DHCP
chmod +x "$R/etc/udhcpc.script"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 > "$WORK/initrd.img")

# Disk: a whole-disk FAT filesystem whose boot sector is SYSLINUX; mtools writes it without mounting.
cat > "$WORK/syslinux.cfg" <<'CFG'
SERIAL 0 115200
DEFAULT orrery
PROMPT 0
TIMEOUT 0
LABEL orrery
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND console=ttyS0 panic=-1 quiet
CFG
IMG=$WORK/disk.raw
mkfs.vfat -C -n ORRERY "$IMG" $((32 * 1024)) >/dev/null
syslinux --install "$IMG"
MTOOLS_SKIP_CHECK=1 mcopy -i "$IMG" "$WORK/kernel/boot/vmlinuz-$KVER" ::vmlinuz
MTOOLS_SKIP_CHECK=1 mcopy -i "$IMG" "$WORK/initrd.img" "$WORK/syslinux.cfg" ::
qemu-img convert -q -f raw -O qcow2 "$IMG" "$WORK/guest.qcow2"

mv "$WORK/guest.qcow2" "$OUT/guest.qcow2"
echo "$STAMP" > "$OUT/stamp"
echo "$OUT"
