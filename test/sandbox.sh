#!/usr/bin/env bash
# `npm run test:sandbox`: the vitest suite as nix/checks/vitest.nix runs it in
# the Nix sandbox, rehearsed on Debian (as root, for the mounts):
#   - a private mount namespace (unshare -m) in which the Debian paths the
#     tests default to are hidden: tmpfs over /lib/modules, /boot,
#     /usr/share/vboot and /usr/src, an empty file over /usr/bin/busybox;
#   - the inputs the check takes from nixpkgs given instead by the variables
#     of test/helpers/host-paths.ts, pointing at copies outside those paths;
#   - PATH = one directory of links to the commands of
#     nix/checks/vitest-tools.json plus what nixpkgs' stdenv provides;
#   - run as an unprivileged user (the Nix build user has no root), with
#     HOME=/homeless-shelter, in a copy of the checkout, a cold cache unless
#     SHIMBOOT_TEST_CACHE names one.
# Arguments go to vitest (e.g. test/qemu). Exit status: vitest's.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
if [[ $(id -u) -ne 0 ]]; then
  echo "test/sandbox.sh: needs root (it mounts in a private namespace)" >&2
  exit 2
fi
if [[ ${SHIMBOOT_SANDBOX_INNER:-} != 1 ]]; then
  SHIMBOOT_SANDBOX_INNER=1 exec unshare -m --propagation private "$0" "$@"
fi

uid=30001 # like nixbld1
work="$(mktemp -d /tmp/shimboot-sandbox.XXXXXX)"
# the inputs are read-only bind mounts of host files: unmount them before
# removing anything, and never cross into another file system
cleanup() {
  umount "$work/inputs/modules" "$work/inputs/linux-source.tar.xz" 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
chmod 755 "$work"

# 1. the inputs, where the check has them in /nix/store
inputs="$work/inputs"
mkdir -p "$inputs"
modules="$(printf "%s\n" /lib/modules/*/ | sort -V | tail -1)"
cp -p /usr/bin/busybox "$inputs/busybox" # -p: the fixture cache is keyed by size and mtime
cp -r /usr/share/vboot/devkeys "$inputs/devkeys"
touch "$inputs/linux-source.tar.xz" && mount --bind -o ro /usr/src/linux-source-6.1.tar.xz "$inputs/linux-source.tar.xz"
mkdir -p "$inputs/modules" && mount --bind -o ro "$modules" "$inputs/modules"
mount -o remount,bind,ro "$inputs/linux-source.tar.xz" && mount -o remount,bind,ro "$inputs/modules"
export SHIMBOOT_TEST_BUSYBOX="$inputs/busybox" SHIMBOOT_TEST_DEVKEYS="$inputs/devkeys" \
  SHIMBOOT_TEST_LINUX_SOURCE="$inputs/linux-source.tar.xz" SHIMBOOT_TEST_HOST_MODULES="$inputs/modules"

# 2. PATH: the check's tools and stdenv's, nothing else
bin="$work/bin"
mkdir -p "$bin"
link() {
  local p
  # the system's own tools, never a user's shims (pyenv's python3 under /root)
  p="$(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v "$1" || true)"
  [[ -n $p ]] || { echo "test/sandbox.sh: $1 is not installed (scripts/install-deps-debian.sh)" >&2; exit 1; }
  ln -sf "$p" "$bin/$1"
}
while read -r cmd; do link "$cmd"; done < <(node -e '
  const t = require(process.argv[1]).tools;
  for (const cmds of Object.values(t)) for (const c of cmds) console.log(c);' "$repo/nix/checks/vitest-tools.json")
# stdenv: coreutils findutils diffutils gnused gnugrep gawk gnutar gzip bzip2
# xz gnumake bash gnupatch file, the compiler and binutils
for pkg in coreutils findutils diffutils sed grep gawk tar gzip bzip2 xz-utils make bash patch file dash; do
  dpkg -L "$pkg" | grep -E '^(/usr)?/s?bin/[^/]+$' | while read -r p; do ln -sf "$p" "$bin/$(basename "$p")"; done
done
for cmd in awk cc gcc cpp as ld ld.bfd ar nm objcopy objdump readelf strip ranlib size strings; do link "$cmd"; done
export SHIMBOOT_TEST_CRYPTSETUP="$bin/cryptsetup"
# nixpkgs' e2fsprogs (1.47.4) reads tarballs (mke2fs -d -), Debian 12's 1.47.0
# does not: stand in with bookworm-backports' 1.47.2, unpacked privately
e2fs="$(bash "$repo/test/tools/e2fsprogs-backports.sh")"
for tool in "$e2fs"/*; do ln -sf "$tool" "$bin/$(basename "$tool")"; done

# 3. hide the Debian paths
for d in /lib/modules /boot /usr/share/vboot /usr/src; do mount -t tmpfs -o size=1m,mode=755 none "$d"; done
: >"$work/empty" && mount --bind "$work/empty" /usr/bin/busybox

# 4. a copy of the checkout, owned by the build user, as the check's source
src="$work/source"
mkdir -p "$src"
git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && xargs -0 cp --parents -a -t "$src")
cp -a "$repo/node_modules" "$src/"
cache="${SHIMBOOT_TEST_CACHE:-$work/cache}"
mkdir -p "$cache" "$work/tmp"
chown -R "$uid:$uid" "$src" "$cache" "$work/tmp"

cd "$src"
env -i PATH="$bin" HOME=/homeless-shelter TMPDIR="$work/tmp" TERM=dumb CI=1 \
  SHIMBOOT_TEST_CACHE="$cache" NIX_REMOTE=dummy:// \
  SHIMBOOT_TEST_BUSYBOX="$SHIMBOOT_TEST_BUSYBOX" SHIMBOOT_TEST_DEVKEYS="$SHIMBOOT_TEST_DEVKEYS" \
  SHIMBOOT_TEST_LINUX_SOURCE="$SHIMBOOT_TEST_LINUX_SOURCE" SHIMBOOT_TEST_HOST_MODULES="$SHIMBOOT_TEST_HOST_MODULES" \
  SHIMBOOT_TEST_CRYPTSETUP="$SHIMBOOT_TEST_CRYPTSETUP" \
  setpriv --reuid="$uid" --regid="$uid" --clear-groups -- \
  sh -c 'node node_modules/typescript/bin/tsc -p tsconfig.json && node scripts/bundle.mjs && node node_modules/vitest/vitest.mjs run "$@"' sh "$@"
