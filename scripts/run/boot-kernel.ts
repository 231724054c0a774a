// What a Chromebook's firmware boots from a disk image: the ChromeOS kernel
// partition it would pick, that partition's kernel (futility
// vbutil_kernel --get-vmlinuz rebuilds the bzImage from the vboot body) and
// its signed command line with %U replaced by the partition's unique GUID.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../lib/errors.js";
import { runOk } from "../lib/exec.js";
import { toBytes } from "../lib/units.js";
import { TYPE_GUID } from "../contract.js";
import { parseBzImageHeader } from "../read/bzimage.js";
import { isFdt } from "../read/fit.js";
import { decodeAttributes, readPartitionTable, type Partition } from "../read/gpt.js";
import { ImageFile } from "../read/image-file.js";
import { kernelBody, parseVbootKernel, x86SetupHeader } from "../read/vboot.js";

export interface BootKernel {
  partition: Partition;
  /** the bzImage, written into `work` */
  vmlinuz: string;
  /** the command line as the firmware passes it */
  cmdline: string;
  /** the kernel's release, when its header names it */
  release: string | null;
}

/**
 * The partition depthcharge tries first: ChromeOS kernel type, priority > 0,
 * successful or tries left; highest priority, then lowest index.
 */
export function bootPartition(partitions: Partition[]): Partition | null {
  const bootable = partitions.filter((p) => {
    if (p.type !== TYPE_GUID.chromeosKernel || p.size <= 1) return false;
    const a = decodeAttributes(p.attributes);
    return a.priority > 0 && (a.successful === 1 || a.tries > 0);
  });
  bootable.sort((a, b) => decodeAttributes(b.attributes).priority - decodeAttributes(a.attributes).priority || a.index - b.index);
  return bootable[0] ?? null;
}

/** The firmware's substitutions: %U is the booted partition's unique GUID (lower case, as depthcharge prints it). */
export function firmwareCmdline(signed: string, p: Partition): string {
  return signed.replaceAll("%U", p.uuid.toLowerCase()).trim();
}

/** Reads the boot kernel of `image` and writes its bzImage into `work`. */
export async function readBootKernel(image: string, work: string): Promise<BootKernel> {
  const img = await ImageFile.open(image);
  try {
    const { partitions } = await readPartitionTable(img);
    const p = bootPartition(partitions);
    if (!p) {
      throw new UserError(image, "has no bootable ChromeOS kernel partition (none with priority > 0 and successful or tries left)", "pass an image made by `shimboot build`, or an RMA shim");
    }
    const where = `${image} partition ${p.index} (${p.label})`;
    const part = await img.read(toBytes(p.start), toBytes(p.size));
    const vboot = parseVbootKernel(part, where);
    if (isFdt(kernelBody(part, vboot))) {
      throw new UserError(where, "holds an arm64 kernel (FIT image); shimboot run boots x86_64 kernels only", "try the image on the Chromebook itself");
    }
    const release = parseBzImageHeader(x86SetupHeader(part, vboot), where).kernelVersion?.split(" ")[0] ?? null;
    const blob = join(work, "kernel-partition.bin");
    const vmlinuz = join(work, "vmlinuz");
    await writeFile(blob, part, { mode: 0o600 });
    await runOk("futility", ["vbutil_kernel", "--get-vmlinuz", blob, "--vmlinuz-out", vmlinuz]);
    return { partition: p, vmlinuz, cmdline: firmwareCmdline(vboot.cmdline, p), release };
  } finally {
    await img.close();
  }
}
