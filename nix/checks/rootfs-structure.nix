# What a built rootfs image must hold (DESIGN.md §2, §5), read with debugfs
# and dumpe2fs, without mounting.
{ runCommand, e2fsprogs }:
{ rootfs, systemd, ext4Features }:
runCommand "shimboot-rootfs-structure-${rootfs.label}" { nativeBuildInputs = [ e2fsprogs ]; } ''
  img=${rootfs}
  fail() { echo "rootfs check failed: $*" >&2; exit 1; }
  kind() { debugfs -R "stat $1" "$img" 2>/dev/null | sed -n 's/.*Type: \([a-z]*\).*/\1/p'; }

  [ "$(kind /sbin/init)" = symlink ] || fail "/sbin/init is not a symlink"
  [ "$(debugfs -R 'cat /sbin/init' "$img" 2>/dev/null)" = "" ] # symlinks have no data to cat
  debugfs -R 'stat /sbin/init' "$img" 2>/dev/null | grep -q 'Fast link dest: "/nix/var/nix/profiles/system/init"' \
    || fail "/sbin/init does not point at the system profile"
  [ "$(kind /nix/var/nix/profiles/system)" = symlink ] || fail "no system profile"
  [ "$(kind /nix/var/nix/profiles/system-1-link)" = symlink ] || fail "no system-1-link"
  [ "$(kind /etc/NIXOS)" = regular ] || fail "no /etc/NIXOS"
  [ "$(kind /nix-path-registration)" = regular ] || fail "no /nix-path-registration"
  debugfs -R 'cat /nix-path-registration' "$img" 2>/dev/null | grep -q '^${systemd}$' \
    || fail "the registration does not list the system's systemd"

  # The patched mount_nofollow(), as nix/systemd recorded it in the package.
  debugfs -R 'cat ${systemd}/share/shimboot/mount-nofollow.c' "$img" 2>/dev/null > nofollow.c
  grep -qF 'mount(source, target, filesystemtype, mountflags, data) < 0' nofollow.c \
    || fail "the image's systemd does not carry the mount_nofollow patch"

  dumpe2fs -h "$img" 2>/dev/null > super
  grep -q '^Filesystem volume name: *${rootfs.label}$' super || fail "label is not ${rootfs.label}"
  grep -q '^Filesystem UUID: *${rootfs.uuid}$' super || fail "UUID is not the derived one"
  grep -q '^Directory Hash Seed: *${rootfs.hashSeed}$' super || fail "hash seed is not the derived one"
  have=$(sed -n 's/^Filesystem features: *//p' super | tr ' ' '\n' | sort | tr '\n' ' ')
  want=$(printf '%s\n' ${toString ext4Features} | sort | tr '\n' ' ')
  [ "$have" = "$want" ] || fail "features are '$have', expected '$want'"
  touch $out
''
