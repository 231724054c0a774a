# shellcheck shell=sh
# shellcheck disable=SC3043,SC2034
# SC3043: `local` is not POSIX but busybox ash (the only shell this runs
# under, see README.md) supports it. SC2034: this library sets globals (SB_*)
# that its callers read.
#
# shimboot bootloader library: the pure parts of the bootloader (no mounts, no
# consoles). Sourced by bin/bootstrap.sh and by the vitest suites, which run
# these functions with busybox applets only, against fake /sys trees and fake
# NixOS profile directories.
#
# Every function is prefixed sb_. Inputs that point at the running system are
# overridable so tests can aim them at fixtures:
#   SB_SYSFS   the sysfs root (default /sys)
#   SB_DEV     the device directory (default /dev)
#   SB_CGPT    the cgpt command (default cgpt, used only when it exists)

: "${SB_SYSFS:=/sys}"
: "${SB_DEV:=/dev}"
: "${SB_CGPT:=cgpt}"

# The GPT name prefix that marks a shimboot root partition, and the reserved
# label of the vendor-driver partition.
SB_PREFIX="shimboot_rootfs:"
SB_VENDOR_LABEL="vendor"

# Defaults when /etc/shimboot/bootloader.conf is absent or a key is missing.
SB_DEFAULT_TIMEOUT=5

sb_warn() {
  printf 'shimboot: %s\n' "$*" >&2
}

# sb_trim STRING: STRING without leading and trailing blanks (spaces, tabs).
sb_trim() {
  local s="$1"
  s="${s#"${s%%[![:blank:]]*}"}"
  s="${s%"${s##*[![:blank:]]}"}"
  printf '%s' "$s"
}

# sb_is_uint STRING: true when STRING is a non-empty run of decimal digits.
sb_is_uint() {
  case "$1" in
    '' | *[!0-9]*) return 1 ;;
  esac
  return 0
}

# sb_conf_load FILE: reads the bootloader configuration written by
# `shimboot build` and sets SB_TIMEOUT and SB_DEFAULT. The file is parsed, not
# sourced: each line is KEY=value; blank lines and lines starting with # are
# skipped; the value is everything after the first '=' (surrounding blanks
# removed); one pair of matching outer quotes ("..." or '...') is removed;
# nothing is expanded. Unknown keys and malformed lines are reported on stderr
# and ignored. A missing file gives the defaults.
sb_conf_load() {
  local file="$1" line key val cr
  cr=$(printf '\r')
  SB_TIMEOUT=$SB_DEFAULT_TIMEOUT
  SB_DEFAULT=""
  [ -r "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%"$cr"}"
    line=$(sb_trim "$line")
    case "$line" in
      '' | '#'*) continue ;;
      *=*) ;;
      *)
        sb_warn "bootloader.conf: ignoring line without '=': $line"
        continue
        ;;
    esac
    key=$(sb_trim "${line%%=*}")
    val=$(sb_trim "${line#*=}")
    case "$val" in
      \"*\") [ ${#val} -ge 2 ] && { val="${val#\"}"; val="${val%\"}"; } ;;
      \'*\') [ ${#val} -ge 2 ] && { val="${val#\'}"; val="${val%\'}"; } ;;
    esac
    case "$key" in
      SHIMBOOT_TIMEOUT)
        if sb_is_uint "$val"; then
          # strip leading zeros so the value is a plain decimal for $(( ))
          SB_TIMEOUT=$(printf '%s' "$val" | sed 's/^0*\(.\)/\1/')
        else
          sb_warn "bootloader.conf: SHIMBOOT_TIMEOUT='$val' is not a number of seconds, using $SB_DEFAULT_TIMEOUT"
          SB_TIMEOUT=$SB_DEFAULT_TIMEOUT
        fi
        ;;
      SHIMBOOT_DEFAULT) SB_DEFAULT="$val" ;;
      *) sb_warn "bootloader.conf: ignoring unknown key '$key'" ;;
    esac
  done <"$file"
  return 0
}

# sb_label_of_name NAME: prints the label of a shimboot GPT partition name
# (everything after the first "shimboot_rootfs:", kept verbatim: spaces and
# colons included) and succeeds; fails for any other name.
sb_label_of_name() {
  case "$1" in
    "$SB_PREFIX"*) printf '%s\n' "${1#"$SB_PREFIX"}" ;;
    *) return 1 ;;
  esac
}

# sb_is_disk_name NAME: true for the whole-disk names the bootloader scans
# (SATA/USB sd*, eMMC/SD mmcblk*, NVMe nvme*, virtio vd*).
sb_is_disk_name() {
  case "$1" in
    sd[a-z]* | vd[a-z]* | mmcblk[0-9]* | nvme[0-9]*n[0-9]*) ;;
    *) return 1 ;;
  esac
  case "$1" in
    mmcblk*boot* | mmcblk*rpmb) return 1 ;;
  esac
  return 0
}

# sb_part_dev DISK N: the partition device name of partition N on DISK
# (sda 3 -> sda3; mmcblk0 3 -> mmcblk0p3; nvme0n1 3 -> nvme0n1p3).
sb_part_dev() {
  case "$1" in
    *[0-9]) printf '%sp%s\n' "$1" "$2" ;;
    *) printf '%s%s\n' "$1" "$2" ;;
  esac
}

# sb_disk_of_part PART N: the disk a partition device belongs to, the inverse
# of sb_part_dev (sda3 3 -> sda; mmcblk0p3 3 -> mmcblk0).
sb_disk_of_part() {
  local part="$1" n="$2" disk
  disk="${part%"$n"}"
  case "$disk" in
    *[0-9]p) disk="${disk%p}" ;;
  esac
  printf '%s\n' "$disk"
}

# sb_uevent_get DEV KEY: the value of KEY= in $SB_SYSFS/class/block/DEV/uevent
# (fails when absent).
sb_uevent_get() {
  local f="$SB_SYSFS/class/block/$1/uevent" line found=1
  [ -r "$f" ] || return 1
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      "$2="*)
        printf '%s\n' "${line#"$2="}"
        found=0
        break
        ;;
    esac
  done <"$f"
  return $found
}

# sb_partname DEV DISK N: the GPT name of partition DEV (number N on DISK).
# Preferred source: PARTNAME= in the kernel's uevent. Fallback: cgpt (when
# present), which reads the GPT itself. Fails when no name can be read.
sb_partname() {
  local name
  if name=$(sb_uevent_get "$1" PARTNAME); then
    printf '%s\n' "$name"
    return 0
  fi
  command -v "$SB_CGPT" >/dev/null 2>&1 || return 1
  name=$("$SB_CGPT" show -i "$3" -l "$SB_DEV/$2" 2>/dev/null) || return 1
  [ -n "$name" ] || return 1
  printf '%s\n' "$name"
}

# sb_list_partitions: every partition of every scanned disk, one per line as
# "DISK N DEV", in disk order then partition number order.
sb_list_partitions() {
  local d dev n disk
  for d in "$SB_SYSFS"/class/block/*; do
    [ -r "$d/partition" ] || continue
    dev="${d##*/}"
    IFS= read -r n <"$d/partition" || continue
    sb_is_uint "$n" || continue
    disk=$(sb_disk_of_part "$dev" "$n")
    sb_is_disk_name "$disk" || continue
    printf '%s %s %s\n' "$disk" "$n" "$dev"
  done | sort -k1,1 -k2,2n
}

# sb_scan_partitions: every partition named shimboot_rootfs:<label>, one per
# line as "DEV|DISK|LABEL" (the label is last and may contain anything). An
# empty label is replaced by the device name.
sb_scan_partitions() {
  local disk n dev name label
  sb_list_partitions | while read -r disk n dev; do
    name=$(sb_partname "$dev" "$disk" "$n") || continue
    label=$(sb_label_of_name "$name") || continue
    [ -n "$label" ] || label="$dev"
    printf '%s|%s|%s\n' "$dev" "$disk" "$label"
  done
}

# sb_cmdline_get CMDLINE KEY: the value of KEY=value on a kernel command line.
sb_cmdline_get() {
  local w
  set -f
  # shellcheck disable=SC2086 # word splitting of the command line is wanted
  set -- $1 "$2"
  set +f
  eval "w=\${$#}"
  while [ $# -gt 1 ]; do
    case "$1" in
      "$w="*)
        printf '%s\n' "${1#"$w="}"
        return 0
        ;;
    esac
    shift
  done
  return 1
}

# sb_lower STRING: STRING in lower case.
sb_lower() {
  printf '%s\n' "$1" | tr '[:upper:]' '[:lower:]'
}

# sb_find_by_partuuid GUID: the partition device whose uevent PARTUUID (or,
# failing that, cgpt's unique GUID) equals GUID, case-insensitively.
sb_find_by_partuuid() {
  local want disk n dev got
  want=$(sb_lower "$1")
  [ -n "$want" ] || return 1
  # shellcheck disable=SC2034 # n is read to skip the column
  sb_list_partitions | while read -r disk n dev; do
    got=$(sb_uevent_get "$dev" PARTUUID) || continue
    if [ "$(sb_lower "$got")" = "$want" ]; then
      printf '%s\n' "$dev"
      return 0
    fi
  done
}

# sb_boot_disk CMDLINE: the disk the running shim kernel was booted from.
#  1. kern_guid=<GUID> on the kernel command line (the firmware fills it in),
#     looked up with `cgpt find -1 -u` as Google's factory bootstrap does,
#     or matched against PARTUUID= in the uevents;
#  2. otherwise, the only disk that carries shimboot_rootfs partitions.
# Fails (prints nothing) when the disk cannot be told for sure.
sb_boot_disk() {
  local guid kdev disks count
  if guid=$(sb_cmdline_get "$1" kern_guid) && [ -n "$guid" ]; then
    if command -v "$SB_CGPT" >/dev/null 2>&1; then
      kdev=$("$SB_CGPT" find -1 -u "$guid" 2>/dev/null | head -n 1)
      kdev="${kdev##*/}"
    fi
    [ -n "$kdev" ] || kdev=$(sb_find_by_partuuid "$guid")
    if [ -n "$kdev" ] && [ -r "$SB_SYSFS/class/block/$kdev/partition" ]; then
      local n
      IFS= read -r n <"$SB_SYSFS/class/block/$kdev/partition"
      sb_disk_of_part "$kdev" "$n"
      return 0
    fi
  fi
  disks=$(sb_scan_partitions | cut -d'|' -f2 | sort -u)
  count=$(printf '%s\n' "$disks" | grep -c .)
  [ "$count" = 1 ] || return 1
  printf '%s\n' "$disks"
}

# sb_resolve ROOT PATH: the host path of PATH as seen from inside ROOT, with
# every symlink followed relative to ROOT (an absolute link target means
# ROOT/target), like a chroot would. NixOS roots are chains of absolute links
# (/sbin/init -> /nix/var/nix/profiles/system/init -> /nix/store/...), which a
# plain test in the bootloader would resolve against the bootloader itself.
# Fails after 40 links (a loop).
sb_resolve() {
  local root="$1" rest="$2" cur="" comp target links=0
  root="${root%/}"
  while [ -n "$rest" ]; do
    while :; do
      case "$rest" in
        /*) rest="${rest#/}" ;;
        *) break ;;
      esac
    done
    [ -n "$rest" ] || break
    case "$rest" in
      */*)
        comp="${rest%%/*}"
        rest="${rest#*/}"
        ;;
      *)
        comp="$rest"
        rest=""
        ;;
    esac
    case "$comp" in
      . | '') continue ;;
      ..)
        cur="${cur%/*}"
        continue
        ;;
    esac
    if [ -L "$root$cur/$comp" ]; then
      links=$((links + 1))
      [ "$links" -le 40 ] || return 1
      target=$(readlink "$root$cur/$comp") || return 1
      case "$target" in
        /*) cur="" ;;
      esac
      if [ -n "$rest" ]; then rest="$target/$rest"; else rest="$target"; fi
    else
      cur="$cur/$comp"
    fi
  done
  printf '%s\n' "$root$cur"
}

# sb_check_init ROOT PATH: checks that PATH (as seen inside ROOT) can be
# exec'd as init: it exists, is a regular executable file, and a script's
# #! interpreter exists and is executable inside ROOT too. Prints the reason
# and fails otherwise.
sb_check_init() {
  local root="$1" path="$2" host line interp ihost
  if ! host=$(sb_resolve "$root" "$path"); then
    printf '%s: too many levels of symbolic links\n' "$path"
    return 1
  fi
  if [ ! -e "$host" ]; then
    printf '%s: no such file\n' "$path"
    return 1
  fi
  if [ ! -f "$host" ]; then
    printf '%s: not a regular file\n' "$path"
    return 1
  fi
  if [ ! -x "$host" ]; then
    printf '%s: not executable\n' "$path"
    return 1
  fi
  if [ "$(head -c 2 "$host" 2>/dev/null)" = "#!" ]; then
    line=$(head -n 1 "$host")
    line="${line#??}"
    line=$(sb_trim "$line")
    interp="${line%%[[:blank:]]*}"
    if [ -z "$interp" ]; then
      printf '%s: empty #! line\n' "$path"
      return 1
    fi
    if ! ihost=$(sb_resolve "$root" "$interp") || [ ! -f "$ihost" ] || [ ! -x "$ihost" ]; then
      printf '%s: interpreter %s not found or not executable\n' "$path" "$interp"
      return 1
    fi
  fi
  return 0
}

# sb_is_nixos ROOT: true when ROOT has NixOS system profiles.
sb_is_nixos() {
  [ -d "$1/nix/var/nix/profiles" ]
}

# sb_list_generations ROOT: the NixOS system generations of ROOT, newest first,
# one per line as "N|EPOCH|CURRENT|VERSION": N the generation number (from
# /nix/var/nix/profiles/system-N-link), EPOCH the link's modification time
# (what nix-env --list-generations shows), CURRENT 1 for the generation the
# `system` profile points to, VERSION the content of <generation>/nixos-version
# (empty when missing).
sb_list_generations() {
  local root="$1" p cur l n ts c ver dir
  p="$root/nix/var/nix/profiles"
  [ -d "$p" ] || return 0
  cur=$(readlink "$p/system" 2>/dev/null) || cur=""
  cur="${cur##*/}"
  for l in "$p"/system-*-link; do
    [ -L "$l" ] || [ -e "$l" ] || continue
    n="${l##*/system-}"
    n="${n%-link}"
    sb_is_uint "$n" || continue
    ts=$(stat -c %Y "$l" 2>/dev/null) || ts=0
    c=0
    [ "$cur" = "system-$n-link" ] && c=1
    ver=""
    if dir=$(sb_resolve "$root" "/nix/var/nix/profiles/system-$n-link") && [ -r "$dir/nixos-version" ]; then
      IFS= read -r ver <"$dir/nixos-version" || true
    fi
    printf '%s|%s|%s|%s\n' "$n" "$ts" "$c" "$ver"
  done | sort -t '|' -k1,1nr
}

# sb_fmt_date EPOCH: "YYYY-MM-DD HH:MM" (UTC unless TZ is set), or "?" .
sb_fmt_date() {
  if sb_is_uint "$1" && [ "$1" != 0 ]; then
    date -d "@$1" '+%Y-%m-%d %H:%M' 2>/dev/null || printf '?\n'
  else
    printf '?\n'
  fi
}

# sb_parse_choice INPUT: what a line typed at the menu prompt asks for, as one
# of: "default" (empty line), "boot N", "gen N G", "shell", "rescue N",
# "reboot", "poweroff", "invalid".
#   N      boot entry N          N.G   boot NixOS generation G of entry N
#   s      bootloader shell      sN    rescue shell inside the root of entry N
#   r      reboot                p     power off
sb_parse_choice() {
  local c n g
  c=$(sb_trim "$1")
  c=$(sb_lower "$c")
  case "$c" in
    '') echo default ;;
    r | reboot) echo reboot ;;
    p | poweroff | halt | off) echo poweroff ;;
    s | shell) echo shell ;;
    s*)
      n=$(sb_trim "${c#s}")
      if sb_is_uint "$n"; then echo "rescue $n"; else echo invalid; fi
      ;;
    *.*)
      n="${c%%.*}"
      g="${c#*.}"
      if sb_is_uint "$n" && sb_is_uint "$g"; then echo "gen $n $g"; else echo invalid; fi
      ;;
    *)
      if sb_is_uint "$c"; then echo "boot $c"; else echo invalid; fi
      ;;
  esac
}

# sb_default_index ENTRIES_FILE LABEL: the 1-based line of ENTRIES_FILE (lines
# "DEV|DISK|LABEL") whose label is LABEL; 1 when LABEL is empty or not found
# (a warning is printed for the latter); nothing when the file is empty.
sb_default_index() {
  local file="$1" want="$2" i=0 dev disk label
  [ -s "$file" ] || return 1
  if [ -n "$want" ]; then
    while IFS='|' read -r dev disk label; do
      i=$((i + 1))
      if [ "$label" = "$want" ]; then
        echo "$i"
        return 0
      fi
    done <"$file"
    sb_warn "default entry '$want' not found, using the first entry"
  fi
  echo 1
}

# sb_is_luks DEVICE_OR_FILE: true when it starts with the LUKS magic.
sb_is_luks() {
  [ "$(dd if="$1" bs=4 count=1 2>/dev/null)" = "LUKS" ]
}

# sb_safe_name STRING: STRING reduced to [A-Za-z0-9_-] (for device-mapper
# names and mount points).
sb_safe_name() {
  printf '%s\n' "$1" | tr -c 'A-Za-z0-9_\n-' '_'
}
