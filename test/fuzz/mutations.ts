// Damage as fast-check generates it: a region and a few edits inside it
// (bit flips, random bytes, integers chosen to break length and offset
// fields, zeroed runs, a cut), optionally with the GPT's CRCs recomputed so
// that the damage reaches the code behind cgpt's checks.
import fc from "fast-check";
import { crc32 } from "node:zlib";
import type { Region, RegionName } from "./targets.js";

export type Edit =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "byte"; at: number; value: number }
  | { kind: "u16" | "u32"; at: number; value: number }
  | { kind: "u64"; at: number; value: bigint }
  | { kind: "zero"; at: number; length: number }
  /** the file cut short: at any byte (a broken download), or at a sector boundary (a short copy) */
  | { kind: "cut"; at: number; sector: boolean };

export interface Case {
  region: RegionName;
  edits: Edit[];
  fixCrc: boolean;
}

/** Values that break length, offset and count fields: bounds, powers of two, sign bits. */
const INTERESTING_32 = [0, 1, 2, 3, 4, 7, 8, 0x10, 0x7f, 0x80, 0xff, 0x100, 0x200, 0x1000, 0x7fff, 0x8000, 0xffff, 0x10000, 0x100000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_64 = [0n, 1n, 0xffffffffn, 0x100000000n, 1n << 40n, (1n << 53n) - 1n, 1n << 53n, 1n << 63n, (1n << 64n) - 1n];

const at = fc.nat({ max: 0x7fffffff });
const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("flip" as const), at, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("byte" as const), at, value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("u16" as const), at, value: fc.oneof(fc.constantFrom(0, 1, 0x7fff, 0x8000, 0xffff), fc.integer({ min: 0, max: 0xffff })) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("u32" as const), at, value: fc.oneof(fc.constantFrom(...INTERESTING_32), fc.nat({ max: 0xffffffff })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("u64" as const), at, value: fc.oneof(fc.constantFrom(...INTERESTING_64), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("zero" as const), at, length: fc.integer({ min: 1, max: 4096 }) }) },
);

/**
 * How often each region is damaged: the ones read by external tools over the
 * whole image (cgpt, debugfs) cost seconds a case, the in-process parsers a
 * fraction of that, so these get twice the cases.
 */
const WEIGHT: Partial<Record<RegionName, number>> = { "gpt-header": 1, "gpt-entries": 1, "rootfs-superblock": 1, truncate: 1 };

export function caseArbitrary(regions: RegionName[]): fc.Arbitrary<Case> {
  const region = fc.oneof(...regions.map((r) => ({ weight: WEIGHT[r] ?? 2, arbitrary: fc.constant(r) })));
  return region.chain((region) =>
    fc.record({
      region: fc.constant(region),
      edits: region === "truncate" ? fc.tuple(fc.record({ kind: fc.constant("cut" as const), at, sector: fc.boolean() })).map((t) => t as Edit[]) : fc.array(edit, { minLength: 1, maxLength: 6 }),
      fixCrc: fc.boolean(),
    }),
  );
}

/** Maps a generated position into the region's ranges (integers stay inside). */
function place(region: Region, pos: number, width: number): number | null {
  const total = region.ranges.reduce((n, [, l]) => n + l, 0);
  let k = pos % total;
  for (const [off, len] of region.ranges) {
    if (k < len) {
      const aligned = width > 1 ? k - (k % width) : k;
      return aligned + width <= len ? off + aligned : len >= width ? off + len - width : null;
    }
    k -= len;
  }
  return null;
}

/** What the edits changed, so that the same bytes can be put back. */
export interface Applied {
  changed: { offset: number; before: Buffer }[];
  cutAt: number | null;
}

/**
 * Applies the edits through `read`/`write` (a file or a buffer) and returns
 * how to undo them. A cut is reported, not applied: the caller truncates.
 */
export async function applyEdits(c: Case, region: Region, io: { read(off: number, len: number): Promise<Buffer>; write(off: number, b: Buffer): Promise<void> }): Promise<Applied> {
  const applied: Applied = { changed: [], cutAt: null };
  const put = async (offset: number, b: Buffer) => {
    applied.changed.push({ offset, before: await io.read(offset, b.length) });
    await io.write(offset, b);
  };
  for (const e of c.edits) {
    if (e.kind === "cut") {
      const cut = place(region, e.at, 1);
      applied.cutAt = cut !== null && e.sector ? cut - (cut % 512) : cut;
      continue;
    }
    const width = e.kind === "u16" ? 2 : e.kind === "u32" ? 4 : e.kind === "u64" ? 8 : e.kind === "zero" ? 1 : 1;
    const off = place(region, e.at, width);
    if (off === null) continue;
    const b = Buffer.alloc(e.kind === "zero" ? e.length : width);
    switch (e.kind) {
      case "flip":
        b[0] = (await io.read(off, 1))[0]! ^ (1 << e.bit);
        break;
      case "byte":
        b[0] = e.value;
        break;
      case "u16":
        region.endian === "le" ? b.writeUInt16LE(e.value) : b.writeUInt16BE(e.value);
        break;
      case "u32":
        region.endian === "le" ? b.writeUInt32LE(e.value) : b.writeUInt32BE(e.value);
        break;
      case "u64":
        region.endian === "le" ? b.writeBigUInt64LE(e.value) : b.writeBigUInt64BE(e.value);
        break;
      case "zero": {
        const end = region.ranges.find(([o, l]) => off >= o && off < o + l)!;
        const len = Math.min(e.length, end[0] + end[1] - off);
        await put(off, Buffer.alloc(len));
        continue;
      }
    }
    await put(off, b);
  }
  if (c.fixCrc && region.crc === "gpt") await fixGptCrcs(io, put);
  return applied;
}

/** Recomputes the primary GPT's entry-array and header CRC32s (UEFI §5.3.2). */
async function fixGptCrcs(io: { read(off: number, len: number): Promise<Buffer> }, put: (off: number, b: Buffer) => Promise<void>) {
  const header = await io.read(512, 92);
  const entriesAt = header.readBigUInt64LE(72);
  const count = header.readUInt32LE(80);
  const size = header.readUInt32LE(84);
  const headerSize = header.readUInt32LE(12);
  // only when the array is one a real header could describe (else the damage is the point)
  if (count * size <= 128 * 128 && entriesAt < 1n << 20n && size >= 128) {
    const arrayCrc = Buffer.alloc(4);
    arrayCrc.writeUInt32LE(crc32(await io.read(Number(entriesAt) * 512, count * size)));
    await put(512 + 88, arrayCrc);
  }
  if (headerSize >= 92 && headerSize <= 512) {
    const h = Buffer.from(await io.read(512, headerSize));
    h.writeUInt32LE(0, 16);
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(h));
    await put(512 + 16, crc);
  }
}

export function describeCase(c: Case): string {
  const e = c.edits.map((x) => {
    switch (x.kind) {
      case "flip":
        return `flip@${x.at}:${x.bit}`;
      case "zero":
        return `zero@${x.at}+${x.length}`;
      case "cut":
        return `cut@${x.at}${x.sector ? "/512" : ""}`;
      default:
        return `${x.kind}@${x.at}=${x.value.toString(16)}`;
    }
  });
  return `${c.region}${c.fixCrc ? "+crc" : ""} [${e.join(" ")}]`;
}

/** A case as describeCase prints it (the fuzz summary), read back: to replay it or keep it as a test. */
export function parseCase(text: string): Case {
  const m = /^([\w-]+?)(\+crc)? \[(.*)\]$/.exec(text.trim());
  if (!m) throw new Error(`not a case: ${text}`);
  const edits = m[3]!.split(" ").filter(Boolean).map((e): Edit => {
    const flip = /^flip@(\d+):(\d)$/.exec(e);
    if (flip) return { kind: "flip", at: Number(flip[1]), bit: Number(flip[2]) };
    const zero = /^zero@(\d+)\+(\d+)$/.exec(e);
    if (zero) return { kind: "zero", at: Number(zero[1]), length: Number(zero[2]) };
    const cut = /^cut@(\d+)(\/512)?$/.exec(e);
    if (cut) return { kind: "cut", at: Number(cut[1]), sector: !!cut[2] };
    const v = /^(byte|u16|u32|u64)@(\d+)=([0-9a-f]+)$/.exec(e);
    if (!v) throw new Error(`not an edit: ${e}`);
    return v[1] === "u64" ? { kind: "u64", at: Number(v[2]), value: BigInt(`0x${v[3]}`) } : { kind: v[1] as "byte" | "u16" | "u32", at: Number(v[2]), value: parseInt(v[3]!, 16) };
  });
  return { region: m[1] as RegionName, edits, fixCrc: !!m[2] };
}
