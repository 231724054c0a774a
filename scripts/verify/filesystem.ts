// The checks every ext partition of the image shares: is there a file system,
// of the right family, inside its partition, clean, and mountable by the
// shim's kernel (features ⊆ what the kernel policy allows).
import { toBytes } from "../lib/units.js";
import type { Partition } from "../read/gpt.js";
import type { CheckList } from "./check.js";
import { STATE_FLAGS, type Superblock } from "../read/extfs.js";
import type { ExtProbe } from "./ext-probe.js";


/** Features that make a file system ext3/ext4 rather than ext2. */
const NOT_EXT2 = ["has_journal", "extent", "flex_bg", "64bit", "metadata_csum", "huge_file", "dir_nlink", "extra_isize"];

export interface FsCheck {
  /** check ids: `${prefix}-fs` and `${prefix}-features` */
  prefix: string;
  where: string;
  partition: Partition;
  probe: ExtProbe;
  /** what the probe's inspection found there */
  superblock: Superblock | null;
  family: "ext2" | "ext4";
  /** features the shim kernel mounts; null when the kernel is unknown (no feature check) */
  allowed: { features: string[]; kernel: string } | null;
}

/** Returns the superblock when there is a usable file system to look into. */
export async function checkFileSystem(list: CheckList, c: FsCheck): Promise<Superblock | null> {
  const id = `${c.prefix}-fs`;
  const p = c.partition;
  const sb = c.superblock;
  if (!sb) {
    list.fail(id, `${c.where}: no ext2/ext4 file system at sector ${p.start} (no superblock found)`, p.index);
    return null;
  }
  const fsBytes = sb.blockCount * sb.blockSize;
  if (fsBytes > toBytes(p.size)) {
    list.fail(id, `${c.where}: the file system is ${fsBytes} bytes (${sb.blockCount} blocks of ${sb.blockSize}) but the partition holds ${toBytes(p.size)}`, p.index);
    return null;
  }
  if (c.family === "ext2") {
    const ext4ish = sb.features.filter((f) => NOT_EXT2.includes(f));
    if (ext4ish.length) {
      list.fail(id, `${c.where}: is not ext2 (has ${ext4ish.join(", ")}); the shim's bootstrap.sh mounts it as ext2 (mke2fs -t ext2)`, p.index);
      return null;
    }
  }
  const check = await c.probe.fsck();
  if (!check.clean) {
    list.fail(id, `${c.where}: the file system is damaged (${check.problems})`, p.index);
    return null;
  }
  const kind = c.family === "ext2" ? "ext2" : sb.features.includes("has_journal") || sb.features.includes("extent") ? "ext4" : "ext2";
  list.pass(id, `${c.where}: ${kind} file system, ${sb.blockCount} blocks of ${sb.blockSize} bytes, e2fsck clean`, p.index);
  checkFeatures(list, c, sb);
  return sb;
}

function checkFeatures(list: CheckList, c: FsCheck, sb: Superblock) {
  if (!c.allowed) return;
  const id = `${c.prefix}-features`;
  const unsupported = sb.features.filter((f) => !STATE_FLAGS.includes(f) && !c.allowed!.features.includes(f));
  if (unsupported.length === 0) {
    list.pass(id, `${c.where}: every feature is supported by the shim kernel ${c.allowed.kernel}`, c.partition.index);
  } else {
    list.fail(
      id,
      `${c.where}: feature${unsupported.length > 1 ? "s" : ""} ${unsupported.join(", ")} not supported by the shim kernel ${c.allowed.kernel} (it would refuse to mount); rebuild with mke2fs -O ${unsupported.map((f) => `^${f}`).join(",")} (allowed: ${c.allowed.features.join(" ")})`,
      c.partition.index,
    );
  }
}
