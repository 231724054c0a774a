// Where to damage a fixture image: the byte ranges of each structure the
// reader trusts, found by reading the pristine image as the formats define
// it (GPT, vboot, x86 boot protocol, FDT, ext2 superblock), and the decoded
// layers that live inside compressed data (the initramfs stream in the
// vmlinux, the cpio archive), which are damaged where they are decoded.
// Built on the fixture catalogue's names and files only.
import { readFile } from "node:fs/promises";
import { TYPE_GUID } from "../../scripts/contract.js";
import { UserError } from "../../scripts/lib/errors.js";
import { readChromeOsImage } from "../../scripts/read/chromeos-image.js";
import { decompress, type Codec } from "../../scripts/read/codecs.js";
import { elfSections } from "../../scripts/read/elf.js";
import { fitKernel, isFdt } from "../../scripts/read/fit.js";
import { findInitramfs } from "../../scripts/read/initramfs.js";
import { kernelBody, parseVbootKernel, x86SetupHeader } from "../../scripts/read/vboot.js";
import { bzImagePayload, parseBzImageHeader } from "../../scripts/read/bzimage.js";
import { readPartitionTable } from "../../scripts/read/gpt.js";
import { ImageFile } from "../../scripts/read/image-file.js";

/** Regions inside KERN-A: only the kernel reader reads them. */
export const KERNEL_REGIONS = ["vboot-keyblock", "vboot-preamble", "bzimage-setup", "fit-fdt", "kernel-payload"] as const;
export const IMAGE_REGIONS = ["gpt-header", "gpt-entries", "vboot-keyblock", "vboot-preamble", "bzimage-setup", "fit-fdt", "kernel-payload", "rootfs-superblock", "truncate"] as const;
export const LAYER_REGIONS = ["initramfs-stream", "cpio-headers"] as const;
export type RegionName = (typeof IMAGE_REGIONS)[number] | (typeof LAYER_REGIONS)[number];

export interface Region {
  name: RegionName;
  /** [offset, length] ranges in the image file, or in the decoded layer */
  ranges: [number, number][];
  /** byte order of the structure's integers */
  endian: "le" | "be";
  /** checksums to recompute after damage, when the case asks for it */
  crc?: "gpt";
}

export interface Target {
  variant: string;
  path: string;
  size: number;
  /** what the build takes the image as */
  role: "shim" | "recovery";
  /** the kernel release the pristine image names (a damaged one may name another) */
  release: string | null;
  regions: Region[];
  /** ROOT-A's place in the pristine table (harvesting the same bytes again proves nothing) */
  root: { start: number; size: number } | null;
  /** KERN-A in the file, for the kernel regions (read as the reader reads the partition) */
  kernel: { offset: number; length: number } | null;
  /** decoded layers, for the layer regions */
  vmlinux: Buffer | null;
  cpio: Buffer | null;
}

const SECTOR = 512;

/** Byte offsets of every newc header in a cpio archive (header and name). */
function cpioHeaders(cpio: Buffer): [number, number][] {
  const out: [number, number][] = [];
  let pos = 0;
  while (pos + 110 <= cpio.length && /^07070[12]$/.test(cpio.toString("latin1", pos, pos + 6))) {
    const hex = (i: number) => parseInt(cpio.toString("latin1", pos + 6 + i * 8, pos + 14 + i * 8), 16);
    const namesize = hex(11);
    const filesize = hex(6);
    out.push([pos, 110 + namesize]);
    pos = (((pos + 110 + namesize + 3) & ~3) + filesize + 3) & ~3;
    while (pos < cpio.length && cpio[pos] === 0) pos++;
  }
  return out;
}

/** A target as it arrives in a worker (structured clone turns Buffers into Uint8Arrays). */
export function revive(t: Target): Target {
  const buf = (b: Buffer | null) => (b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : null);
  return { ...t, vmlinux: buf(t.vmlinux), cpio: buf(t.cpio) };
}

export async function describeTarget(variant: string, path: string): Promise<Target> {
  const bytes = await readFile(path);
  const regions: Region[] = [];
  const add = (name: RegionName, ranges: [number, number][], endian: "le" | "be" = "le", crc?: "gpt") => {
    const usable = ranges.filter(([, l]) => l > 0);
    if (usable.length) regions.push({ name, ranges: usable, endian, ...(crc ? { crc } : {}) });
  };
  add("truncate", [[0, bytes.length]]);
  // GPT: header at LBA 1, entries where it says
  add("gpt-header", [[SECTOR, 92]], "le", "gpt");
  const entriesAt = Number(bytes.readBigUInt64LE(SECTOR + 72)) * SECTOR;
  const entrySize = bytes.readUInt32LE(SECTOR + 84);
  const img = await ImageFile.open(path);
  const parts = await readPartitionTable(img).finally(() => img.close()).then((t) => t.partitions);
  add("gpt-entries", [[entriesAt, Math.max(...parts.map((p) => p.index)) * entrySize]], "le", "gpt");
  // (the pristine table is read with the reader itself: one cgpt run instead of two per partition)

  const kern = parts.find((p) => p.type === TYPE_GUID.chromeosKernel && p.label === "KERN-A") ?? parts.find((p) => p.type === TYPE_GUID.chromeosKernel);
  let vmlinux: Buffer | null = null;
  let cpio: Buffer | null = null;
  if (kern) {
    const at = kern.start * SECTOR;
    const part = bytes.subarray(at, at + kern.size * SECTOR);
    const vb = parseVbootKernel(part, path);
    add("vboot-keyblock", [[at, vb.keyblock.size]]);
    add("vboot-preamble", [[at + vb.keyblock.size, vb.preamble.size]]);
    const body = kernelBody(part, vb);
    const bodyAt = at + body.byteOffset - part.byteOffset;
    let payload: Buffer;
    if (isFdt(body)) {
      const k = fitKernel(body, path);
      const dataAt = bodyAt + k.data.byteOffset - body.byteOffset;
      const fdtEnd = bodyAt + body.readUInt32BE(4);
      // the tree around the kernel's data: header, nodes and properties before and after it, strings
      add("fit-fdt", [[bodyAt, dataAt - bodyAt], [dataAt + k.data.length, fdtEnd - dataAt - k.data.length]], "be");
      add("kernel-payload", [[dataAt, k.data.length]]);
      payload = k.data;
    } else {
      const setup = x86SetupHeader(part, vb);
      const setupAt = at + setup.byteOffset - part.byteOffset;
      add("bzimage-setup", [[setupAt + 0x1f1, 0x270 - 0x1f1]]);
      const h = parseBzImageHeader(setup, path);
      payload = bzImagePayload(body, h, path);
      add("kernel-payload", [[bodyAt + h.payloadOffset, h.payloadLength]]);
    }
    const image = await readChromeOsImage(path).catch((e: unknown) => {
      if (e instanceof UserError) return null; // a bad-input fixture: its own damage is the point
      throw e;
    });
    await image?.close();
    if (image?.kernel) {
      vmlinux = image.kernel.payloadCompression === "none" ? payload : await decompress(image.kernel.payloadCompression as Codec, payload);
      const found = (await findInitramfs(vmlinux)).found;
      if (found) {
        const sections = elfSections(vmlinux);
        const initData = sections?.find((s) => s.name === (found.location.section ?? ""));
        const end = found.compressedSize > 0 ? found.location.offset + found.compressedSize : initData ? initData.offset + initData.size : vmlinux.length;
        add("initramfs-stream", [[found.location.offset, end - found.location.offset]]);
        const stream = vmlinux.subarray(found.location.offset, end);
        cpio = found.compression === "none" ? stream : await decompress(found.compression, stream);
        add("cpio-headers", cpioHeaders(cpio));
      }
    }
    const root = parts.find((p) => p.index === kern.index + 1);
    if (root) {
      const rootAt = root.start * SECTOR;
      const blockSize = 1024 << bytes.readUInt32LE(rootAt + 1024 + 24);
      // the superblock and the first group descriptors after it
      add("rootfs-superblock", [[rootAt + 1024, 1024], [rootAt + Math.max(2048, blockSize), 64]]);
    }
    return { variant, path, size: bytes.length, role: image?.kind === "recovery" ? "recovery" : "shim", release: image?.kernel?.release ?? null, regions, root: root ? { start: root.start, size: root.size } : null, kernel: { offset: at, length: part.length }, vmlinux, cpio };
  }
  return { variant, path, size: bytes.length, role: "shim", release: null, regions, root: null, kernel: null, vmlinux, cpio };
}
