// The partition table, as vboot_reference's cgpt reads it from the image file
// (no loop device). cgpt validates headers and CRCs; we parse its numeric
// listing and check the entries against the file's real size.
import { TYPE_GUID } from "../contract.js";
import { UserError } from "../lib/errors.js";
import { run } from "../lib/exec.js";
import { SECTOR_SIZE, sectors, toBytes, type Sectors } from "../lib/units.js";
import type { ImageFile } from "./image-file.js";


const typeNames: Record<string, string> = {
  [TYPE_GUID.chromeosKernel]: "ChromeOS kernel",
  [TYPE_GUID.chromeosRootfs]: "ChromeOS rootfs",
  [TYPE_GUID.linuxData]: "Linux data",
  [TYPE_GUID.chromeosFirmware]: "ChromeOS firmware",
  [TYPE_GUID.chromeosReserved]: "ChromeOS reserved",
  [TYPE_GUID.efiSystem]: "EFI system",
};

export function typeName(guid: string): string {
  return typeNames[guid.toUpperCase()] ?? guid.toUpperCase();
}

/** cgpt attribute bits 48–63 as ChromeOS uses them. */
export interface KernelAttributes {
  priority: number;
  tries: number;
  successful: number;
}

export function decodeAttributes(raw: number): KernelAttributes {
  return { priority: raw & 0xf, tries: (raw >> 4) & 0xf, successful: (raw >> 8) & 1 };
}

export interface Partition {
  index: number;
  label: string;
  type: string;
  typeName: string;
  uuid: string;
  start: Sectors;
  size: Sectors;
  /** raw 16-bit attribute value (GPT attribute bits 48–63) */
  attributes: number;
}

export interface PartitionTable {
  partitions: Partition[];
  /** set when one of the two GPT copies is damaged (the other was used) */
  warnings: string[];
}

/** Parses `cgpt show -n` (numeric) output into entries. Exported for tests. */
export function parseCgptShow(text: string): Partition[] {
  const out: Partition[] = [];
  let cur: Partition | null = null;
  for (const line of text.split("\n")) {
    const head = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+Label: "(.*)"\s*$/.exec(line);
    if (head) {
      cur = {
        index: Number(head[3]),
        start: sectors(Number(head[1])),
        size: sectors(Number(head[2])),
        label: head[4] ?? "",
        type: "",
        typeName: "",
        uuid: "",
        attributes: 0,
      };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const field = /^\s+(Type|UUID|Attr): (.*?)\s*$/.exec(line);
    if (!field) {
      if (/^\s*\d+\s+\d+\s/.test(line)) cur = null; // a GPT structure row ends the entry
      continue;
    }
    const value = field[2] ?? "";
    if (field[1] === "Type") {
      cur.type = value.toUpperCase();
      cur.typeName = typeName(value);
    } else if (field[1] === "UUID") cur.uuid = value.toUpperCase();
    else cur.attributes = parseInt(value.replace(/[[\]]/g, ""), 16) >>> 0;
  }
  // cgpt prints the primary entries, then the secondary copy when -d; keep one.
  const seen = new Set<number>();
  return out.filter((p) => (seen.has(p.index) ? false : (seen.add(p.index), true))).sort((a, b) => a.index - b.index);
}

export async function readPartitionTable(img: ImageFile): Promise<PartitionTable> {
  if (img.size % SECTOR_SIZE !== 0) {
    throw new UserError(img.path, `size ${img.size} is not a whole number of 512-byte sectors: the image is truncated or not a disk image`, "fetch or unzip the image again");
  }
  const r = await run("cgpt", ["show", "-n", img.path]);
  const warnings = r.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("WARNING"))
    .map((l) => l.replace(/^WARNING:\s*/, ""));
  if (r.exitCode !== 0) {
    const primarySig = (await img.read(SECTOR_SIZE, 8)).toString("latin1");
    const secondarySig = (await img.read(img.size - SECTOR_SIZE, 8)).toString("latin1");
    if (primarySig !== "EFI PART" && secondarySig !== "EFI PART") {
      throw new UserError(img.path, "has no GPT partition table: not a ChromeOS disk image", "pass the unzipped shim or recovery .bin");
    }
    if (primarySig === "EFI PART") {
      // the primary header says where the disk ends: a shorter file was cut
      const alternateLba = Number((await img.read(SECTOR_SIZE + 32, 8)).readBigUInt64LE(0));
      if ((alternateLba + 1) * SECTOR_SIZE > img.size) {
        throw new UserError(img.path, `is truncated: its GPT says the disk is ${(alternateLba + 1) * SECTOR_SIZE} bytes but the file has ${img.size}`, "the download or copy was incomplete; fetch the image again");
      }
    }
    throw new UserError(img.path, "GPT headers are corrupt (both copies fail their checks)", "the image is damaged; fetch it again");
  }
  const partitions = parseCgptShow(r.stdout);
  for (const p of partitions) {
    const end = toBytes(sectors(p.start + p.size));
    if (p.size > 1 && end > img.size) {
      throw new UserError(img.path, `is truncated: partition ${p.index} (${p.label}) ends at byte ${end} but the file has ${img.size} bytes`, "the download or copy was incomplete; fetch the image again");
    }
  }
  return { partitions, warnings: warnings.filter((w) => !/One of the GPT/.test(w)) };
}
