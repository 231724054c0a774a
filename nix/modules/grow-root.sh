# Grow the root partition to the end of its disk, then the ext4 on it.
# Runs on the device as root (shimboot-grow-root.service). The rootfs is the
# last GPT partition (DESIGN.md §2), so growing it moves nothing else.
set -euo pipefail
dev=$(mountpoint -d /)                 # MAJ:MIN of the root filesystem
sys=$(readlink -f "/sys/dev/block/$dev")
[ -e "$sys/partition" ] || { echo "root ($dev) is not a partition; nothing to grow"; exit 0; }
part=$(cat "$sys/partition")
disk=/dev/$(basename "$(dirname "$sys")")
root=/dev/$(basename "$sys")
last=$(cat "$(dirname "$sys")"/*/partition | sort -n | tail -n 1)
if [ "$part" != "$last" ]; then
  echo "root is partition $part of $disk but $last is last; not growing"
  exit 0
fi
# A USB image written to a bigger drive has its backup GPT in the middle.
sfdisk --relocate gpt-bak-std "$disk" || true
# growpart exits 1 with NOCHANGE when there is nothing to do.
growpart "$disk" "$part" || [ $? -eq 1 ]
resize2fs "$root"
