#!/usr/bin/env bash
# A reproducible ext4 image of a root file system, without root, in one pass
# over its content: tar streams the skeleton and the store paths straight
# into mke2fs -d - (e2fsprogs >= 1.47.1 reads a tarball). The size is worked
# out beforehand from metadata alone (find), so there is no staging copy and
# no resize2fs moving blocks afterwards.
#   make-ext4.sh IMAGE LABEL UUID HASH_SEED FEATURES SKELETON PATHS
# SKELETON: a directory with the image's own entries (mount points, profile
#   links, sbin/init, etc/NIXOS, nix-path-registration, an empty nix/store);
# PATHS: a file of absolute paths, one a line (the closure's store paths),
#   each copied into the image at the same path (SKELETON holds its parent);
# FEATURES: mke2fs's -O value, e.g. "none,has_journal,extent" ("none" first
#   so that mke2fs.conf defaults never leak in: DESIGN.md §2).
# Reproducible: fixed UUID and htree hash seed, every owner 0:0, every
# timestamp SOURCE_DATE_EPOCH (set in the tar stream; mke2fs uses it for
# what it creates itself).
# Needs: mke2fs >= 1.47.1, e2fsck, GNU tar, find, awk.
set -euo pipefail
image=$1 label=$2 uuid=$3 hashSeed=$4 features=$5 skeleton=$6 paths=$7
: "${SOURCE_DATE_EPOCH:=1}"
export SOURCE_DATE_EPOCH E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH EXT2FS_NO_MTAB_OK=yes LC_ALL=C

version=$(mke2fs -V 2>&1 | sed -n '1s/^mke2fs \([0-9.]*\).*/\1/p')
if ! printf '1.47.1\n%s\n' "$version" | sort -V -C; then
  echo "make-ext4.sh: mke2fs ${version:-(unknown version)} cannot fill a file system from a tarball; e2fsprogs 1.47.1 or later is needed" >&2
  exit 1
fi
while IFS= read -r p; do
  case $p in /*) ;; *) echo "make-ext4.sh: $paths: '$p' is not an absolute path" >&2; exit 1 ;; esac
  [ -d "$skeleton$(dirname "$p")" ] || { echo "make-ext4.sh: $skeleton has no directory $(dirname "$p") to hold $p" >&2; exit 1; }
done < "$paths"

# What the image will hold, from metadata: type, links, inode, size, name
# of every entry (NUL-separated; a newline inside a name becomes '?').
entries() {
  find "$skeleton" -mindepth 1 -printf '%y %n %D:%i %s %f\0'
  if [ -s "$paths" ]; then tr '\n' '\0' < "$paths" | find -files0-from - -printf '%y %n %D:%i %s %f\0'; fi
}

# Blocks and inodes for mke2fs: the content's data, directory and symlink
# blocks, then the metadata mke2fs lays out for that many blocks (inode
# tables, bitmaps, group descriptors and their reserved growth in every
# backup group, journal, orphan file), worked to a fixed point, plus 64 MiB
# free so the first boot has room before the root grows to the whole drive.
read -r blocks inodes < <(entries | tr '\n\0' '?\n' | awk -v features="$features" '
  function ceil(x) { return x == int(x) ? x : int(x) + 1 }
  function has(f) { return index("," features ",", "," f ",") > 0 }
  function journal(b) {
    if (!has("has_journal")) return 0
    if (b < 32768) return 1024; if (b < 262144) return 4096; if (b < 524288) return 8192
    if (b < 4194304) return 16384; if (b < 8388608) return 32768; if (b < 16777216) return 65536
    if (b < 33554432) return 131072; return 262144
  }
  function orphan(b) { if (!has("orphan_file")) return 0; if (b < 131072) return 32; if (b < 2097152) return int(b / 4096); return 512 }
  function backups(groups,   n, p, q) {
    n = groups > 1 ? 2 : 1
    for (p = 3; p <= 7; p += 2) for (q = p; q < groups; q *= p) if (q > 1) n++
    return n
  }
  {
    type = $1; links = $2; id = $3; size = $4
    name = substr($0, length(type) + length(links) + length(id) + length(size) + 5)
    dirent += 8 + ceil(length(name) / 4) * 4
    if (type == "f" && links > 1) { if (id in seen) next; seen[id] = 1 }
    inodes++
    if (type == "d") dirs++
    else if (type == "f") {
      b = ceil(size / 4096); data += b
      ext = ceil(b / 32768) + 1            # 128 MiB extents, one more where a group boundary splits it
      if (ext > 4) data += ceil(ext / 340) # beyond the 4 extents an inode holds: extent tree blocks
    } else if (type == "l" && size >= 60) data++  # shorter targets live in the inode
  }
  END {
    dirs += 2                                  # the root and lost+found
    data += dirs + ceil(dirent / 4084) + 4     # dirent bytes per 4 KiB block after its checksum tail; lost+found is 16 KiB
    n = int((inodes + 11) * 5 / 4) + 4096      # room for the files the first boot adds
    free = 16384
    total = data + free
    for (i = 0; i < 6; i++) {
      groups = ceil(total / 32768)
      ipg = ceil(ceil(n / groups) / 16) * 16   # 256-byte inodes fill whole blocks
      desc = has("64bit") ? 64 : 32
      gdb = ceil(groups * desc / 4096)
      rsv = 0
      if (has("resize_inode")) {
        max = total * 1024; if (max > 4294967295) max = 4294967295
        rsv = ceil(ceil(max / 32768) * desc / 4096) - gdb; if (rsv > 1024) rsv = 1024; if (rsv < 0) rsv = 0
      }
      meta = groups * (2 + ipg / 16) + backups(groups) * (gdb + rsv) + journal(total) + orphan(total)
      total = data + meta + free
      total += int(total / 200)                # 0.5% for what this does not model (directory growth, fragmentation)
    }
    print total, groups * ipg
  }')

rm -f "$image"
truncate -s $(( blocks * 4096 )) "$image"
set +e
tar --create --file=- --format=posix --numeric-owner --owner=0 --group=0 --sort=name \
    --mtime="@$SOURCE_DATE_EPOCH" \
    --pax-option="exthdr.name=%d/PaxHeaders/%f,atime:=$SOURCE_DATE_EPOCH,ctime:=$SOURCE_DATE_EPOCH" \
    -C "$skeleton" . -C / --verbatim-files-from -T <(sed 's|^/||' "$paths") |
  mke2fs -q -F -t ext4 -b 4096 -I 256 -m 0 -N "$inodes" -O "$features" -L "$label" -U "$uuid" \
    -E "hash_seed=$hashSeed,lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0" -d - "$image" "$blocks"
status=("${PIPESTATUS[@]}")
set -e
if [ "${status[0]}" != 0 ] || [ "${status[1]}" != 0 ]; then
  echo "make-ext4.sh: filling $image failed (tar exit ${status[0]}, mke2fs exit ${status[1]}; $blocks blocks and $inodes inodes were planned)" >&2
  exit 1
fi

# A read-only check (a repairing e2fsck would stamp "last checked" with the
# wall clock).
if ! report=$(e2fsck -fn "$image" 2>&1); then
  printf '%s\n' "$report" >&2
  echo "make-ext4.sh: e2fsck finds the new $image damaged" >&2
  exit 1
fi
