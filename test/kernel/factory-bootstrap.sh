#!/bin/busybox sh
# shellcheck shell=sh
#
# bin/bootstrap.sh of the fixture shim's built-in initramfs: the factory
# shim's hand-off (Google's factory_shim bootstrap.sh, DESIGN.md §1.2), run by
# /init on the fixture's real kernel. It does only what that script does on
# the way to the next stage, in the same order, so partition 3 of a shimboot
# image is started exactly as on a Chromebook:
#   kern_guid -> kernel partition -> partition + 1 (ChromeOS rootfs, > 1
#   sector) -> mount read-only -> copy into a tmpfs -> (older shims: require
#   dev_image/etc/lsb-factory on partition 1) -> move /sys /proc /dev ->
#   switch_root to /sbin/init.
# The kernel has its storage drivers built in (virtio-blk, xHCI,
# usb-storage), as a shim kernel has. The command line has an empty
# console=, so messages go to the serial port when there is one. Any failure
# prints FACTORY-SHIM-FAILED and powers off, so a test never hangs.

export PATH=/bin
USB_MNT=/usb
STATEFUL_MNT=/stateful
NEWROOT_MNT=/newroot
# Google uses 1024M (640M on older shims); the test trees are small.
TMPFS_SIZE=256M

info() {
  echo "factory shim: $*"
}

fail() {
  echo "FACTORY-SHIM-FAILED: $*"
  cat /proc/partitions 2>/dev/null # diagnostics
  sync
  poweroff -f
  sleep 10
  exit 1
}

mkdir -p /proc /sys /dev /tmp "$USB_MNT" "$STATEFUL_MNT" "$NEWROOT_MNT"
mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
# console= is empty: write where a person (or the test) reads
if [ -c /dev/ttyS0 ] && stty -F /dev/ttyS0 clocal 2>/dev/null; then
  exec </dev/ttyS0 >/dev/ttyS0 2>&1
fi
info "started on $(uname -r)"

# export_args: the kernel command line as KERN_ARG_<KEY>=value; only
# kern_guid matters here. The firmware has replaced %U with the unique GUID
# of the kernel partition it booted.
KERN_ARG_KERN_GUID=""
read -r cmdline </proc/cmdline
for arg in $cmdline; do
  case "$arg" in
    kern_guid=*) KERN_ARG_KERN_GUID="${arg#kern_guid=}" ;;
  esac
done
[ -n "$KERN_ARG_KERN_GUID" ] || fail "no kern_guid= on the kernel command line"

# wait_for_gpt_root: up to 20 tries a second apart (USB disks appear late),
# `cgpt find -1 -u <kern_guid>` gives the kernel partition, and the rootfs is
# always kernel partition + 1.
USB_DEV=""
try=0
while [ $try -lt 20 ]; do
  kern_dev="$(cgpt find -1 -u "$KERN_ARG_KERN_GUID" 2>/dev/null | uniq)"
  if [ -n "$kern_dev" ]; then
    kern_num=${kern_dev##[/a-z]*[/a-z]}
    root_num=$((kern_num + 1))
    root_dev="${kern_dev%"$kern_num"}${root_num}"
    if [ -b "$root_dev" ]; then
      USB_DEV="$root_dev"
      break
    fi
  fi
  try=$((try + 1))
  sleep 1
done
[ -n "$USB_DEV" ] || fail "no partition follows the kernel partition with GUID $KERN_ARG_KERN_GUID"
info "kernel partition $kern_dev, next stage $USB_DEV"

# find_official_root: the disk must have a ChromeOS rootfs-typed partition,
# and this one must be it; is_good_rootfs_partition: more than one sector.
usb_disk="${USB_DEV%[0-9]*}"
case "$usb_disk" in
  *[0-9]p) usb_disk="${usb_disk%p}" ;;
esac
cgpt find -t rootfs "$usb_disk" 2>/dev/null | grep -qx "$USB_DEV" ||
  fail "$USB_DEV is not typed ChromeOS rootfs"
sectors="$(cat "/sys/class/block/${USB_DEV##*/}/size")"
[ "$sectors" -gt 1 ] || fail "$USB_DEV is too small"

# mount_usb: read-only, retried.
try=0
until mount -n -o ro "$USB_DEV" "$USB_MNT"; do
  try=$((try + 1))
  [ $try -lt 20 ] || fail "cannot mount $USB_DEV"
  sleep 1
done

# mount_tmpfs + copy_contents: the whole partition into RAM.
mount -n -t tmpfs tmpfs "$NEWROOT_MNT" -o "size=$TMPFS_SIZE" || fail "mount tmpfs"
tar -cf - -C "$USB_MNT" . | tar -xf - -C "$NEWROOT_MNT" || fail "copy $USB_DEV"

# Older shims: mount_stateful + copy_lsb abort without
# dev_image/etc/lsb-factory on partition 1 (the STATE partition).
STATE_DEV="${USB_DEV%[0-9]*}1"
mount -n "$STATE_DEV" "$STATEFUL_MNT" || fail "cannot mount stateful $STATE_DEV"
[ -f "$STATEFUL_MNT/dev_image/etc/lsb-factory" ] ||
  fail "$STATE_DEV has no dev_image/etc/lsb-factory"
umount -n "$STATEFUL_MNT"

# unmount_usb: everything runs from RAM from here on.
umount -n "$USB_MNT"

# move_mounts + use_new_root.
for mnt in /sys /proc /dev; do
  mkdir -p "$NEWROOT_MNT$mnt"
  mount -n -o move "$mnt" "$NEWROOT_MNT$mnt" || fail "move $mnt"
done
info "switch_root to /sbin/init"
exec switch_root "$NEWROOT_MNT" /sbin/init
