// A plain reading of the primary GPT entries, with no CRC or bounds checks,
// used only to explain why cgpt rejected a table (a truncated file, entries
// that overlap): the layout checks then run on what the table says.
import { sectors } from "../lib/units.js";
import { typeName, type Partition } from "../read/gpt.js";
import type { ImageFile } from "../read/image-file.js";

function guid(b: Buffer): string {
  const hex = (x: Buffer) => x.toString("hex");
  const le = (x: Buffer) => hex(Buffer.from(x).reverse());
  return `${le(b.subarray(0, 4))}-${le(b.subarray(4, 6))}-${le(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`.toUpperCase();
}

/** Entries of the primary GPT as written, or null when there is no header at LBA 1. */
export async function readRawGpt(img: ImageFile): Promise<Partition[] | null> {
  const header = await img.read(512, 92);
  if (header.toString("latin1", 0, 8) !== "EFI PART") return null;
  const entriesLba = Number(header.readBigUInt64LE(72));
  const count = header.readUInt32LE(80);
  const size = header.readUInt32LE(84);
  if (size < 128 || count > 1024 || (entriesLba + 1) * 512 + count * size > img.size) return null;
  const table = await img.read(entriesLba * 512, count * size);
  const out: Partition[] = [];
  for (let i = 0; i < count; i++) {
    const e = table.subarray(i * size, i * size + 128);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    const type = guid(e.subarray(0, 16));
    out.push({
      index: i + 1,
      label: e.toString("utf16le", 56, 128).replace(/\0.*$/s, ""),
      type,
      typeName: typeName(type),
      uuid: guid(e.subarray(16, 32)),
      start: sectors(first),
      size: sectors(last >= first ? last - first + 1 : 0),
      attributes: Number(e.readBigUInt64LE(48) >> 48n) & 0xffff,
    });
  }
  return out;
}
