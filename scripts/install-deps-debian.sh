#!/usr/bin/env bash
# Installs the system tools shimboot and its tests use, on Debian 12 / Ubuntu.
# Each package and why it is here is listed in README.md ("Dependencies").
set -euo pipefail
packages=(
  # the CLI's runtime tools
  cgpt vboot-kernel-utils vboot-utils e2fsprogs xfsprogs fakeroot kmod
  xz-utils zstd lz4 lzop bzip2 cpio nix-bin util-linux
  # tests: fixture building, reference tools, the QEMU boot test
  busybox-static u-boot-tools device-tree-compiler binutils
  qemu-system-x86 linux-image-amd64 shellcheck binwalk time cryptsetup-bin
  # tests: the fixture shim's real kernel (test/kernel/), built from source
  linux-source-6.1 gcc make libc6-dev bc bison flex libelf-dev
  # tests: npm run test:sandbox links what nixpkgs' stdenv has (gawk among it)
  gawk patch file
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# nix/rootfs/make-ext4.sh needs mke2fs >= 1.47.1 (tarball input); Debian 12
# has 1.47.0. Its tests use bookworm-backports' copy, unpacked privately
# (the system's e2fsprogs stays as it is).
if ! printf '1.47.1\n%s\n' "$(mke2fs -V 2>&1 | sed -n '1s/^mke2fs \([0-9.]*\).*/\1/p')" | sort -V -C; then
  "$(dirname "$0")/../test/tools/e2fsprogs-backports.sh" >/dev/null
fi
