#!/usr/bin/env bash
# Fill an ext4 image from a directory without root and without randomness.
#   make-ext4.sh DIR IMAGE LABEL UUID HASH_SEED FEATURES
# FEATURES is mke2fs's -O value, e.g. "none,has_journal,extent" ("none" first
# so e2fsprogs' mke2fs.conf defaults never leak in: DESIGN.md §2).
# Needs: mke2fs, e2fsck, resize2fs, dumpe2fs, fakeroot, find, du.
# Reproducible: fixed UUID and htree hash seed, every timestamp pinned to
# SOURCE_DATE_EPOCH (also E2FSPROGS_FAKE_TIME, which older mke2fs reads),
# every file owned by root (fakeroot), sized from the content.
set -euo pipefail
dir=$1 image=$2 label=$3 uuid=$4 hashSeed=$5 features=$6
: "${SOURCE_DATE_EPOCH:=1}"
export SOURCE_DATE_EPOCH E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH EXT2FS_NO_MTAB_OK=yes

# The staging tree's own timestamps go into the inodes: pin them.
find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# Room for the content plus its inodes; shrunk to fit once filled.
inodes=$(( $(find "$dir" | wc -l) * 5 / 4 + 4096 ))
kib=$(du -s --apparent-size -B1K "$dir" | cut -f1)
bytes=$(( (kib * 13 / 10 + inodes / 4 + 262144) * 1024 ))
rm -f "$image"
truncate -s "$bytes" "$image"

fakeroot -- sh -c '
  chown -R 0:0 "$1"
  mke2fs -q -F -t ext4 -b 4096 -I 256 -m 0 -N "$2" -O "$3" -L "$4" -U "$5" \
    -E "hash_seed=$6,lazy_itable_init=0,lazy_journal_init=0" -d "$1" "$7"
' sh "$dir" "$inodes" "$features" "$label" "$uuid" "$hashSeed" "$image"

# mke2fs -d copies each file's atime and ctime, which no one can pin in the
# staging tree (the kernel sets ctime). mke2fs -d allocates inodes in order,
# so the used ones are 2 (root) and 11.. : set both times on each, in one
# debugfs session.
used=$(dumpe2fs -h "$image" 2>/dev/null | awk -F: '
  /^Inode count/ {n=$2} /^Free inodes/ {f=$2} END {print n-f-10}')
{
  for i in 2 $(seq 11 $(( 10 + used ))); do
    echo "sif <$i> atime @$SOURCE_DATE_EPOCH"
    echo "sif <$i> ctime @$SOURCE_DATE_EPOCH"
  done
} > debugfs-times.cmd
debugfs -w -f debugfs-times.cmd "$image" >/dev/null 2>&1
rm -f debugfs-times.cmd

# Read-only checks: a repairing e2fsck would stamp "last checked" with the
# wall clock.
e2fsck -fn "$image" >/dev/null 2>&1
# Shrink to the content, then give 64 MiB back so the first boot has room
# before the root grows to the whole USB stick.
resize2fs -f -M "$image" >/dev/null 2>&1
blocks=$(dumpe2fs -h "$image" 2>/dev/null | sed -n 's/^Block count: *//p')
resize2fs -f "$image" $(( blocks + 16384 )) >/dev/null 2>&1
truncate -s $(( (blocks + 16384) * 4096 )) "$image"
e2fsck -fn "$image" >/dev/null 2>&1
