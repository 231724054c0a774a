#!/bin/busybox sh
# shellcheck shell=sh
# shellcheck disable=SC3043,SC3045
# SC3043/SC3045: busybox ash (the only shell this runs under) has `local` and
# `read -t`.
#
# shimboot bootloader: finds the partitions named shimboot_rootfs:<label>,
# shows a menu (entries, NixOS generations, rescue shell, reboot, power off)
# with a build-time default and timeout, mounts the chosen root, attaches the
# vendor-driver partition, moves /proc /sys /dev, pivot_root's (old root kept
# at /bootloader) and execs the chosen init. Runs as PID 1 (started by
# bin/init); every failure is reported and leads back to the menu.
# The contract (config file, partition names, consoles, log) is documented in
# README.md next to this directory.

: "${SB_LIB:=/lib/shimboot-lib.sh}"
# shellcheck source-path=SCRIPTDIR source=../lib/shimboot-lib.sh
. "$SB_LIB"

: "${SB_CONF:=/etc/shimboot/bootloader.conf}"
: "${SB_RUN:=/run/shimboot}"
SB_NEWROOT=/newroot
SB_VENDOR_MNT=/vendor
SB_OLDROOT_NAME=bootloader
SB_LOGBUF="$SB_RUN/bootloader.log"
SB_FIFO="$SB_RUN/input"
SB_ENTRIES="$SB_RUN/entries"
SB_VENDORS="$SB_RUN/vendors"
SB_MOUNTS="$SB_RUN/mounts"
SB_READERS=""
SB_INPUT_DIRECT=""
SB_FRECON=""
SB_IN_TTY=""
SB_IN_LINE=""
SB_BOOTDISK=""
SB_ROOTDEV=""

# ---------------------------------------------------------------- consoles --

# Picks the consoles: the screen (frecon-lite's first terminal /dev/pts/0 when
# frecon-lite runs, as the factory shim starts it; /dev/tty1 otherwise) and the
# first serial port when it works. The shim's command line has an empty
# console=, so /dev/console cannot be relied on.
sb_detect_consoles() {
  local c
  [ -n "$SB_CONSOLES" ] && return 0
  SB_CONSOLES=""
  if { [ -e /bin/frecon-lite ] || [ -e /sbin/frecon-lite ]; } && [ -c /dev/pts/0 ]; then
    SB_CONSOLES=/dev/pts/0
    SB_FRECON=1
  elif [ -c /dev/tty1 ]; then
    SB_CONSOLES=/dev/tty1
  fi
  for c in ${SB_SERIAL_CONSOLES-/dev/ttyS0}; do
    [ -c "$c" ] || continue
    # stty opens the port without blocking on carrier detect and sets clocal
    # so that later opens do not block either; a port without a UART behind
    # it fails the write test.
    stty -F "$c" clocal >/dev/null 2>&1 || continue
    (printf '\r' >"$c") 2>/dev/null || continue
    SB_CONSOLES="$SB_CONSOLES $c"
  done
  SB_CONSOLES="${SB_CONSOLES# }"
}

sb_primary_console() {
  printf '%s\n' "${SB_CONSOLES%% *}"
}

sb_uptime() {
  local u
  IFS=' ' read -r u _ </proc/uptime 2>/dev/null || u=0
  printf '%s' "$u"
}

# Appends a line to the in-memory log (flushed to the STATE partition).
sb_log() {
  printf '[%8s] %s\n' "$(sb_uptime)" "$*" >>"$SB_LOGBUF" 2>/dev/null
}

# Prints a line on every console and logs it.
sb_say() {
  local c
  for c in $SB_CONSOLES; do
    printf '%s\n' "$*" >>"$c" 2>/dev/null
  done
  sb_log "$*"
}

# Prints without a newline (prompts).
sb_prompt() {
  local c
  for c in $SB_CONSOLES; do
    printf '%s' "$*" >>"$c" 2>/dev/null
  done
}

# Says every line of a file (command output, warnings).
sb_say_file() {
  local line
  [ -s "$1" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    sb_say "  $line"
  done <"$1"
}

# One reader per console copies typed lines, tagged with the console they came
# from, into a FIFO; the menu reads the FIFO (with a timeout when needed).
sb_reader() {
  local line
  exec <"$1" || exit 0
  while IFS= read -r line; do
    printf '%s %s\n' "$1" "$line" >&3
  done
}

sb_input_start() {
  local c
  [ -n "$SB_READERS" ] && return 0
  [ -n "$SB_INPUT_DIRECT" ] && return 0
  if [ ! -p "$SB_FIFO" ]; then
    rm -f "$SB_FIFO"
    if ! mkfifo "$SB_FIFO" 2>/dev/null; then
      # No FIFO (no mkfifo applet): read the screen console directly.
      SB_INPUT_DIRECT=$(sb_primary_console)
      [ -n "$SB_INPUT_DIRECT" ] || return 1
      exec 3<"$SB_INPUT_DIRECT"
      return 0
    fi
  fi
  exec 3<>"$SB_FIFO"
  for c in $SB_CONSOLES; do
    sb_reader "$c" 2>/dev/null &
    SB_READERS="$SB_READERS $!"
  done
}

# Stops the readers: they must not outlive the bootloader (they would steal
# the terminal's input from the booted system or the rescue shell).
sb_input_stop() {
  local p
  if [ -n "$SB_INPUT_DIRECT" ]; then
    exec 3<&-
    SB_INPUT_DIRECT=""
    return 0
  fi
  [ -n "$SB_READERS" ] || return 0
  for p in $SB_READERS; do kill "$p" 2>/dev/null; done
  for p in $SB_READERS; do wait "$p" 2>/dev/null; done
  SB_READERS=""
  exec 3<&-
}

# sb_input_read [SECONDS]: waits for a typed line (at most SECONDS when given
# and non-zero); sets SB_IN_TTY and SB_IN_LINE. Fails on timeout.
sb_input_read() {
  local raw cr
  cr=$(printf '\r')
  sb_input_start || return 1
  if [ -n "$1" ] && [ "$1" -gt 0 ]; then
    IFS= read -t "$1" -r raw <&3 || return 1
  else
    IFS= read -r raw <&3 || return 1
  fi
  if [ -n "$SB_INPUT_DIRECT" ]; then
    SB_IN_TTY="$SB_INPUT_DIRECT"
    SB_IN_LINE="$raw"
  else
    SB_IN_TTY="${raw%% *}"
    SB_IN_LINE="${raw#* }"
  fi
  SB_IN_LINE="${SB_IN_LINE%"$cr"}"
  return 0
}

# sb_read_secret PROMPT: prints PROMPT and reads a line without echo
# (passphrases); the line is not logged. Echo goes off before the prompt is
# shown, so a line typed as soon as it appears is not echoed either.
sb_read_secret() {
  local c rc
  for c in $SB_CONSOLES; do stty -echo <"$c" 2>/dev/null; done
  sb_prompt "$1"
  sb_input_read
  rc=$?
  for c in $SB_CONSOLES; do stty echo <"$c" 2>/dev/null; done
  sb_prompt "
"
  return $rc
}

# -------------------------------------------------------------------- log --

# Appends the in-memory log to shimboot/bootloader.log on partition 1 (STATE)
# of the disk the shim was booted from, when that disk is known for sure and
# its partition 1 is named STATE. Never fatal.
sb_log_flush() {
  local p1 name mnt="$SB_RUN/state" log
  [ -s "$SB_LOGBUF" ] || return 0
  [ -n "$SB_BOOTDISK" ] || return 1
  p1=$(sb_part_dev "$SB_BOOTDISK" 1)
  if name=$(sb_partname "$p1" "$SB_BOOTDISK" 1) && [ "$name" != STATE ]; then
    return 1
  fi
  [ -b "$SB_DEV/$p1" ] || return 1
  mkdir -p "$mnt"
  mount -t ext4 -o rw "$SB_DEV/$p1" "$mnt" 2>/dev/null || return 1
  log="$mnt/shimboot/bootloader.log"
  if mkdir -p "$mnt/shimboot" && cat "$SB_LOGBUF" >>"$log"; then
    : >"$SB_LOGBUF"
    # keep the log bounded: the last 256 KiB once it passes 512 KiB
    if [ "$(wc -c <"$log")" -gt 524288 ]; then
      tail -c 262144 "$log" >"$log.new" && mv "$log.new" "$log"
    fi
  fi
  sync
  umount "$mnt" 2>/dev/null
  return 0
}

# ----------------------------------------------------------------- mounts --

# Remembers a mount point for sb_unmount_all (most recent first).
sb_track_mount() {
  { printf '%s\n' "$1"; cat "$SB_MOUNTS" 2>/dev/null; } >"$SB_MOUNTS.new"
  mv "$SB_MOUNTS.new" "$SB_MOUNTS"
}

sb_unmount_all() {
  local m
  [ -s "$SB_MOUNTS" ] || return 0
  while IFS= read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done <"$SB_MOUNTS"
  : >"$SB_MOUNTS"
}

# sb_mount DEV DIR [ro]: mounts an ext4 (or any auto-detected) file system;
# on failure says why and fails.
sb_mount() {
  local out opt=rw
  [ "$3" = ro ] && opt=ro
  mkdir -p "$2"
  if out=$(mount -t ext4 -o "$opt" "$1" "$2" 2>&1) || out="$out
$(mount -o "$opt" "$1" "$2" 2>&1)"; then
    sb_track_mount "$2"
    return 0
  fi
  printf '%s\n' "$out" >"$SB_RUN/mount.err"
  return 1
}

# Unlocks a LUKS root when needed. Sets SB_ROOTDEV to the device to mount.
sb_open_root() {
  local dev="$1" label="$2" name try err="$SB_RUN/cryptsetup.err" pass
  SB_ROOTDEV="$SB_DEV/$dev"
  sb_is_luks "$SB_ROOTDEV" || return 0
  name="shimboot-$(sb_safe_name "$label")"
  if [ -b "/dev/mapper/$name" ]; then
    SB_ROOTDEV="/dev/mapper/$name"
    return 0
  fi
  if ! command -v cryptsetup >/dev/null 2>&1; then
    sb_say "Error: $label ($dev) is encrypted (LUKS) but this bootloader has no cryptsetup."
    return 1
  fi
  try=1
  while [ $try -le 3 ]; do
    sb_read_secret "Passphrase for $label ($dev), attempt $try of 3 (empty line to cancel): " || return 1
    pass="$SB_IN_LINE"
    SB_IN_LINE=""
    if [ -z "$pass" ]; then
      sb_say "Cancelled."
      return 1
    fi
    if printf '%s' "$pass" | cryptsetup open "$SB_ROOTDEV" "$name" --key-file=- 2>"$err"; then
      pass=""
      SB_ROOTDEV="/dev/mapper/$name"
      sb_say "Unlocked $label."
      return 0
    fi
    pass=""
    sb_say "Could not unlock $label:"
    sb_say_file "$err"
    try=$((try + 1))
  done
  sb_say "Error: giving up on $label after 3 attempts."
  return 1
}

# -------------------------------------------------------------------- scan --

# Reads PRETTY_NAME from a root's os-release without sourcing it.
sb_os_name() {
  local f line v
  for f in /etc/os-release /usr/lib/os-release; do
    f=$(sb_resolve "$1" "$f") || continue
    [ -r "$f" ] || continue
    while IFS= read -r line; do
      case "$line" in
        PRETTY_NAME=*)
          v="${line#PRETTY_NAME=}"
          v="${v#[\"\']}"
          v="${v%[\"\']}"
          printf '%s\n' "$v"
          return 0
          ;;
      esac
    done <"$f"
  done
  return 1
}

# Finds the partitions and describes each entry (written to $SB_RUN files:
# entries "DEV|DISK|LABEL", desc.N, gens.N).
sb_scan() {
  local line dev disk label i=0 mnt="$SB_RUN/scan" desc reason
  sb_scan_partitions >"$SB_RUN/all" 2>/dev/null
  : >"$SB_ENTRIES"
  : >"$SB_VENDORS"
  rm -f "$SB_RUN"/desc.* "$SB_RUN"/gens.*
  while IFS= read -r line; do
    label="${line#*|}"
    label="${label#*|}"
    if [ "$label" = "$SB_VENDOR_LABEL" ]; then
      printf '%s\n' "$line" >>"$SB_VENDORS"
    else
      printf '%s\n' "$line" >>"$SB_ENTRIES"
    fi
  done <"$SB_RUN/all"
  while IFS='|' read -r dev disk label; do
    i=$((i + 1))
    desc=""
    if sb_is_luks "$SB_DEV/$dev" && [ ! -b "/dev/mapper/shimboot-$(sb_safe_name "$label")" ]; then
      desc="encrypted (LUKS)"
    else
      local rdev="$SB_DEV/$dev"
      [ -b "/dev/mapper/shimboot-$(sb_safe_name "$label")" ] && rdev="/dev/mapper/shimboot-$(sb_safe_name "$label")"
      mkdir -p "$mnt"
      if mount -o ro "$rdev" "$mnt" 2>/dev/null; then
        desc=$(sb_os_name "$mnt") || desc=""
        if sb_is_nixos "$mnt"; then
          [ -n "$desc" ] || desc="NixOS"
          sb_list_generations "$mnt" >"$SB_RUN/gens.$i" 2>/dev/null
        fi
        if ! reason=$(sb_check_init "$mnt" /sbin/init); then
          desc="${desc:+$desc, }cannot boot: init $reason"
        fi
        umount "$mnt" 2>/dev/null
      else
        desc="cannot be mounted"
      fi
    fi
    printf '%s\n' "$desc" >"$SB_RUN/desc.$i"
  done <"$SB_ENTRIES"
}

# sb_entry N: sets E_DEV E_DISK E_LABEL from line N of the entries.
sb_entry() {
  local line
  line=$(sed -n "${1}p" "$SB_ENTRIES")
  [ -n "$line" ] || return 1
  E_DEV="${line%%|*}"
  line="${line#*|}"
  E_DISK="${line%%|*}"
  E_LABEL="${line#*|}"
}

# -------------------------------------------------------------------- menu --

sb_menu() {
  local i=0 dev label desc n ts cur ver more
  sb_say ""
  sb_say "======================== shimboot ========================"
  if [ ! -s "$SB_ENTRIES" ]; then
    sb_say "  No bootable partition found (GPT name shimboot_rootfs:<label>)."
  fi
  while IFS='|' read -r dev _ label; do
    i=$((i + 1))
    desc=$(cat "$SB_RUN/desc.$i" 2>/dev/null)
    sb_say "  $i) $label    [$SB_DEV/$dev]${desc:+  $desc}"
    if [ -s "$SB_RUN/gens.$i" ]; then
      more=0
      while IFS='|' read -r n ts cur ver; do
        more=$((more + 1))
        [ $more -le 10 ] || continue
        if [ "$cur" = 1 ]; then cur="  (current)"; else cur=""; fi
        sb_say "       $i.$n) generation $n  $(sb_fmt_date "$ts")  ${ver:+NixOS $ver}$cur"
      done <"$SB_RUN/gens.$i"
      [ $more -le 10 ] || sb_say "       ... $((more - 10)) older generations: type $i.<number>"
    fi
  done <"$SB_ENTRIES"
  if [ -s "$SB_VENDORS" ]; then
    sb_say "  drivers: $SB_DEV/$(cut -d'|' -f1 "$SB_VENDORS" | head -n 1) (shimboot_rootfs:vendor)"
  fi
  sb_say "  N) boot entry N   N.G) boot NixOS generation G of entry N"
  sb_say "  s) shell   sN) rescue shell in entry N   r) reboot   p) power off"
}

# ------------------------------------------------------------------- boot --

# Mounts the vendor partition (the one on the root's disk, else the first) and
# bind-mounts its lib/modules and lib/firmware onto the root's. The mount
# points are resolved inside the root first: the ChromiumOS LSM refuses mounts
# whose path crosses a symlink.
sb_attach_vendor() {
  local root_disk="$1" line vdev="" vdisk vlabel sub src dst
  [ -s "$SB_VENDORS" ] || return 0
  while IFS='|' read -r vdev vdisk vlabel; do
    [ "$vdisk" = "$root_disk" ] && break
  done <"$SB_VENDORS"
  if [ "$vdisk" != "$root_disk" ]; then
    line=$(head -n 1 "$SB_VENDORS")
    vdev="${line%%|*}"
  fi
  : "$vlabel"
  if ! sb_mount "$SB_DEV/$vdev" "$SB_VENDOR_MNT" && ! sb_mount "$SB_DEV/$vdev" "$SB_VENDOR_MNT" ro; then
    sb_say "Warning: cannot mount the vendor partition $SB_DEV/$vdev; booting without its drivers:"
    sb_say_file "$SB_RUN/mount.err"
    return 0
  fi
  for sub in modules firmware; do
    src="$SB_VENDOR_MNT/lib/$sub"
    [ -d "$src" ] || src="$SB_VENDOR_MNT/$sub"
    [ -d "$src" ] || continue
    if ! dst=$(sb_resolve "$SB_NEWROOT" "/lib/$sub"); then
      sb_say "Warning: /lib/$sub on the root is a symlink loop; not attaching vendor $sub"
      continue
    fi
    mkdir -p "$dst" 2>/dev/null
    if mount -o bind "$src" "$dst" 2>"$SB_RUN/mount.err"; then
      sb_track_mount "$dst"
      sb_log "vendor $sub: $SB_DEV/$vdev -> /lib/$sub"
    else
      sb_say "Warning: cannot attach vendor $sub to /lib/$sub:"
      sb_say_file "$SB_RUN/mount.err"
    fi
  done
  sb_say "Drivers from $SB_DEV/$vdev attached to /lib/modules and /lib/firmware."
}

# Moves /proc /sys /dev into the root, pivots (old root at /bootloader) and
# execs INIT. Returns only when the pivot failed (mounts moved back).
sb_handoff() {
  local init="$1" m dst stdio busybox moved=""
  busybox=$(command -v busybox 2>/dev/null) || busybox=/bin/busybox
  case "$busybox" in /*) ;; *) busybox=/bin/busybox ;; esac
  if [ ! -x "$busybox" ]; then
    sb_say "Error: no busybox binary to exec init with."
    return 1
  fi

  # The booted init's stdio: /dev/console when it can be opened, else the
  # screen console.
  stdio=/dev/console
  (: <>/dev/console) 2>/dev/null || stdio=$(sb_primary_console)
  [ -n "$stdio" ] || stdio=/dev/null

  sb_say "Starting $init on $E_LABEL..."
  sb_log_flush
  sb_input_stop

  # frecon-lite draws the screen: show the booted system's console messages
  # there by binding its terminal over /dev/console (a regular file as the
  # mount point, as a character device there crashes the shim's kernel).
  # A display manager must stop frecon-lite and unmount this first.
  if [ -n "$SB_FRECON" ]; then
    rm -f /dev/console
    touch /dev/console
    mount -o bind "$(sb_primary_console)" /dev/console 2>/dev/null
    stdio=/dev/console
  fi

  for m in /proc /sys /dev; do
    dst=$(sb_resolve "$SB_NEWROOT" "$m") || dst="$SB_NEWROOT$m"
    mkdir -p "$dst"
    mount -o move "$m" "$dst" || break
    moved="$dst $m $moved"
  done
  mkdir -p "$SB_NEWROOT/$SB_OLDROOT_NAME"
  cd "$SB_NEWROOT" || return 1
  if [ "$(printf '%s\n' "$moved" | wc -w)" = 6 ] && pivot_root . "$SB_OLDROOT_NAME" 2>/dev/null; then
    # From here the old root (with this script and busybox) is /bootloader.
    # shellcheck disable=SC2094 # the console is opened for reading and writing
    exec "/$SB_OLDROOT_NAME$busybox" chroot . "$init" <>".$stdio" >".$stdio" 2>&1
  fi
  # The pivot failed: put /proc /sys /dev back so the menu keeps working.
  cd /
  # shellcheck disable=SC2086 # "DST SRC" pairs without blanks, split on purpose
  set -- $moved
  while [ $# -ge 2 ]; do
    mount -o move "$1" "$2" 2>/dev/null
    shift 2
  done
  sb_input_start
  sb_say "Error: pivot_root into $E_LABEL failed."
  return 1
}

# sb_boot N [G]: boots entry N (its /sbin/init, or NixOS generation G).
sb_boot() {
  local n="$1" g="$2" init=/sbin/init reason
  if ! sb_entry "$n"; then
    sb_say "Error: there is no entry $n."
    return 1
  fi
  [ -n "$g" ] && init="/nix/var/nix/profiles/system-$g-link/init"
  sb_say "Booting $E_LABEL ($SB_DEV/$E_DEV)${g:+, NixOS generation $g}..."
  sb_unmount_all
  sb_open_root "$E_DEV" "$E_LABEL" || return 1
  if ! sb_mount "$SB_ROOTDEV" "$SB_NEWROOT"; then
    sb_say "Error: cannot mount $E_LABEL ($SB_ROOTDEV):"
    sb_say_file "$SB_RUN/mount.err"
    return 1
  fi
  if [ -n "$g" ] && [ ! -L "$SB_NEWROOT/nix/var/nix/profiles/system-$g-link" ]; then
    sb_say "Error: $E_LABEL has no NixOS generation $g."
    sb_unmount_all
    return 1
  fi
  if ! reason=$(sb_check_init "$SB_NEWROOT" "$init"); then
    sb_say "Error: cannot boot $E_LABEL: init $reason"
    sb_unmount_all
    return 1
  fi
  sb_attach_vendor "$E_DISK"
  sb_handoff "$init"
  sb_unmount_all
  return 1
}

# sb_shell TTY [N]: an interactive shell on TTY; with N, inside the root of
# entry N (chroot when it has /bin/sh, else the bootloader's shell in it).
sb_shell() {
  local tty="$1" n="$2" m dst dir where="the bootloader"
  [ -c "$tty" ] || tty=$(sb_primary_console)
  sb_unmount_all
  set -- sh -i
  if [ -n "$n" ]; then
    if ! sb_entry "$n"; then
      sb_say "Error: there is no entry $n."
      return 1
    fi
    sb_open_root "$E_DEV" "$E_LABEL" || return 1
    if ! sb_mount "$SB_ROOTDEV" "$SB_NEWROOT"; then
      sb_say "Error: cannot mount $E_LABEL ($SB_ROOTDEV):"
      sb_say_file "$SB_RUN/mount.err"
      return 1
    fi
    for m in /proc /sys /dev; do
      dst=$(sb_resolve "$SB_NEWROOT" "$m") || continue
      mkdir -p "$dst" 2>/dev/null
      mount -o bind "$m" "$dst" 2>/dev/null && sb_track_mount "$dst"
    done
    where="$E_LABEL (mounted read-write)"
    if sb_check_init "$SB_NEWROOT" /bin/sh >/dev/null; then
      set -- chroot "$SB_NEWROOT" /bin/sh -i
    else
      where="$E_LABEL at $SB_NEWROOT (it has no /bin/sh)"
    fi
  fi
  sb_say "Shell in $where on $tty; exit it to return to the menu."
  sb_log_flush
  sb_input_stop
  dir=/
  [ -n "$n" ] && dir="$SB_NEWROOT"
  # shellcheck disable=SC2094 # the terminal is the shell's stdin and stdout
  if setsid -c true </dev/null >/dev/null 2>&1; then
    (cd "$dir" && exec setsid -c "$@" <"$tty" >"$tty" 2>&1)
  else
    (cd "$dir" && exec setsid "$@" <"$tty" >"$tty" 2>&1)
  fi
  sb_unmount_all
  sb_input_start
}

sb_power() {
  sb_say "$1..."
  sb_unmount_all
  sb_log_flush
  sync
  if [ "$1" = "Rebooting" ]; then reboot -f; else poweroff -f; fi
  sleep 5
  sb_say "Error: $1 failed."
}

# -------------------------------------------------------------------- main --

# The busybox applets (beyond the shell's builtins) this bootloader runs; the
# shim's busybox should have them all (README.md).
SB_APPLETS="cat chroot cut date dd grep head kill mkdir mkfifo mount mv
pivot_root poweroff readlink reboot rm sed setsid sleep sort stat stty sync
tail touch tr umount uname wc"

sb_check_applets() {
  local a missing=""
  for a in $SB_APPLETS; do
    command -v "$a" >/dev/null 2>&1 || missing="$missing $a"
  done
  [ -z "$missing" ] || sb_say "Warning: missing commands:$missing (some menu actions may fail)"
}

main() {
  local auto=1 def choice
  mkdir -p "$SB_RUN"
  : >"$SB_MOUNTS"
  sb_detect_consoles
  # stray output of commands goes to the log, never lost
  exec </dev/null >>"$SB_LOGBUF" 2>&1

  # Read the consoles from the start, so nothing typed early is lost.
  sb_input_start
  sb_say "shimboot bootloader on $(uname -r); consoles: ${SB_CONSOLES:-none}"
  sb_check_applets
  sb_conf_load "$SB_CONF" 2>"$SB_RUN/conf.err"
  sb_say_file "$SB_RUN/conf.err"
  sb_log "config: SHIMBOOT_TIMEOUT=$SB_TIMEOUT SHIMBOOT_DEFAULT=$SB_DEFAULT"
  SB_BOOTDISK=$(sb_boot_disk "$(cat /proc/cmdline 2>/dev/null)") || SB_BOOTDISK=""
  sb_log "boot disk: ${SB_BOOTDISK:-unknown (log not saved)}"

  while :; do
    sb_scan
    sb_menu
    def=$(sb_default_index "$SB_ENTRIES" "$SB_DEFAULT" 2>"$SB_RUN/def.err") || def=""
    sb_say_file "$SB_RUN/def.err"
    choice=""
    if [ "$auto" = 1 ] && [ -n "$def" ]; then
      sb_entry "$def"
      if [ "$SB_TIMEOUT" -eq 0 ]; then
        choice="boot $def"
      else
        sb_say "Default: $def) $E_LABEL, booting in $SB_TIMEOUT s. Type a choice and press Enter."
        sb_prompt "shimboot> "
        if sb_input_read "$SB_TIMEOUT"; then
          choice=$(sb_parse_choice "$SB_IN_LINE")
          sb_log "typed: $SB_IN_LINE"
        else
          sb_say ""
          choice="boot $def"
        fi
      fi
    else
      sb_prompt "shimboot> "
      if sb_input_read; then
        choice=$(sb_parse_choice "$SB_IN_LINE")
        sb_log "typed: $SB_IN_LINE"
      else
        sb_say "Error: no console to read from; retrying in 5 s."
        sleep 5
        continue
      fi
    fi
    # After the first decision the menu waits for the user: a failed default
    # must not loop.
    auto=0
    case "$choice" in
      default)
        if [ -n "$def" ]; then sb_boot "$def"; else sb_say "Nothing to boot."; fi
        ;;
      "boot "*) sb_boot "${choice#boot }" ;;
      "gen "*)
        # shellcheck disable=SC2086 # "gen N G", split on purpose
        set -- $choice
        sb_boot "$2" "$3"
        ;;
      shell) sb_shell "$SB_IN_TTY" ;;
      "rescue "*) sb_shell "$SB_IN_TTY" "${choice#rescue }" ;;
      reboot) sb_power Rebooting ;;
      poweroff) sb_power "Powering off" ;;
      *) sb_say "Unknown choice '$SB_IN_LINE'." ;;
    esac
    sb_log_flush
  done
}

main "$@"
