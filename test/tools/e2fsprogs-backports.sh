#!/usr/bin/env bash
# Puts Debian bookworm-backports' e2fsprogs (1.47.2: mke2fs -d reads a
# tarball, as nixpkgs' 1.47.4 does; Debian 12 has 1.47.0) into a private
# directory, without touching the system's packages: apt-get download with
# a private source list and state, then dpkg -x. nix/rootfs/make-ext4.sh's
# tests and the bench run it from there (`bin/` holds wrappers that point
# the tools at their own libraries). Prints that bin directory.
#   test/tools/e2fsprogs-backports.sh [DIR]   (default .cache/e2fsprogs-backports)
set -euo pipefail
dest=${1:-$(dirname "$0")/../../.cache/e2fsprogs-backports}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
apt=$dest/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" > "$apt/sources.list"
opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User=root)
apt-get "${opts[@]}" -qq update
version=$(apt-cache "${opts[@]}" madison e2fsprogs | awk '/bookworm-backports/ { print $3; exit }')
[ -n "$version" ] || { echo "no e2fsprogs in bookworm-backports" >&2; exit 1; }
(cd "$apt/debs" && apt-get "${opts[@]}" -qq download "e2fsprogs=$version" "libext2fs2=$version" "libss2=$version" "libcom-err2=$version")
rm -rf "$dest/root" "$dest/bin"
for d in "$apt"/debs/*.deb; do dpkg -x "$d" "$dest/root"; done
mkdir -p "$dest/bin"
lib=$(dirname "$(find "$dest/root" -name libext2fs.so.2 -print -quit)")
for tool in mke2fs e2fsck debugfs dumpe2fs resize2fs tune2fs e2image; do
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec %s "$@"\n' "$lib" "$dest/root/sbin/$tool" > "$dest/bin/$tool"
  chmod +x "$dest/bin/$tool"
done
"$dest/bin/mke2fs" -V >/dev/null 2>&1 || { echo "the unpacked mke2fs does not run" >&2; exit 1; }
echo "$dest/bin"
