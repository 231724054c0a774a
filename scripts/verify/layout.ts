// Contract items 1 and 6: a valid GPT in both copies, 512-byte sectors, a
// protective MBR, and partitions that neither overlap nor leave the file.
import { run } from "../lib/exec.js";
import { parseCgptShow, type Partition } from "../read/gpt.js";
import type { ImageFile } from "../read/image-file.js";
import { SECTOR_SIZE } from "../lib/units.js";
import type { CheckList } from "./check.js";
import { readRawGpt } from "./raw-gpt.js";

/** Sectors a GPT copy occupies besides its header: 128 entries of 128 bytes. */
const ENTRY_SECTORS = 32;

/**
 * Reads the partition table with cgpt and checks both copies. Returns the
 * entries, or null when no usable table exists (nothing else can be checked).
 */
export async function checkGpt(img: ImageFile, list: CheckList): Promise<Partition[] | null> {
  if (img.size % SECTOR_SIZE !== 0) {
    list.fail("gpt", `gpt: the file is ${img.size} bytes, not a whole number of 512-byte sectors (truncated or not a disk image)`);
    return null;
  }
  const lba1 = (await img.read(SECTOR_SIZE, 8)).toString("latin1");
  const at4k = img.size >= 8192 ? (await img.read(4096, 8)).toString("latin1") : "";
  const r = await run("cgpt", ["show", "-n", img.path]);
  if (r.exitCode !== 0) {
    const why =
      lba1 !== "EFI PART" && at4k === "EFI PART"
        ? "the GPT header is at byte 4096: it was written for 4096-byte sectors, ChromeOS firmware reads 512-byte sectors"
        : `no valid GPT: cgpt rejects both copies${cgptError(r.stderr)}`;
    list.fail("gpt", `gpt: ${why}`);
    // Say what the primary table holds (a truncated file, overlapping entries).
    const raw = await readRawGpt(img);
    if (raw) checkLayout(img, raw, list);
    return null;
  }
  const partitions = parseCgptShow(r.stdout);
  const invalid = r.stdout
    .split("\n")
    .filter((l) => /INVALID/.test(l))
    .map((l) => l.replace(/^.*INVALID\s*/, "").trim());
  const warnings = r.stderr
    .split("\n")
    .map((l) => l.trim().replace(/^WARNING:\s*/, ""))
    .filter((l) => /invalid/i.test(l) && !/One of the GPT/.test(l));
  const damaged = [...new Set([...invalid, ...warnings])];
  if (damaged.length) {
    list.fail("gpt", `gpt: one copy is damaged (${damaged.join("; ")}); repair it with \`cgpt repair IMAGE\``);
  } else if (lba1 !== "EFI PART") {
    list.fail("gpt", "gpt: no GPT header at LBA 1 (byte 512): the table is not laid out for 512-byte sectors");
  } else {
    list.pass("gpt", `gpt: valid, primary and secondary copies agree, 512-byte sectors, ${partitions.length} partitions`);
  }
  await checkProtectiveMbr(img, list);
  return partitions;
}

function cgptError(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => l.startsWith("ERROR")) ?? lines[0];
  return line ? ` (${line.replace(/^(ERROR|WARNING):\s*/, "")})` : "";
}

/** Linux's GPT parser ignores a disk without a protective MBR (type 0xEE). */
async function checkProtectiveMbr(img: ImageFile, list: CheckList) {
  const mbr = await img.read(0, 512);
  const hasSignature = mbr[510] === 0x55 && mbr[511] === 0xaa;
  const types = [0, 1, 2, 3].map((i) => mbr[446 + i * 16 + 4]);
  if (hasSignature && types.includes(0xee)) list.pass("gpt-pmbr", "gpt: protective MBR present");
  else list.fail("gpt-pmbr", `gpt: no protective MBR (${hasSignature ? "no partition of type 0xEE" : "no 55AA signature"}): Linux will not read the GPT; write one with \`cgpt boot -p IMAGE\``);
}

/** Partitions inside the usable area of the file, and no two sharing a sector. */
export function checkLayout(img: ImageFile, partitions: Partition[], list: CheckList) {
  const fileSectors = img.size / SECTOR_SIZE;
  const firstUsable = 2 + ENTRY_SECTORS;
  const lastUsable = fileSectors - 2 - ENTRY_SECTORS; // inclusive
  const name = (p: Partition) => `p${p.index} (${p.label || "unnamed"})`;
  const outside: { p: Partition; text: string }[] = [];
  for (const p of partitions) {
    const end = p.start + p.size - 1;
    if (end >= fileSectors) outside.push({ p, text: `${name(p)} ends at sector ${end} but the file has ${fileSectors} sectors` });
    else if (p.start < firstUsable) outside.push({ p, text: `${name(p)} starts at sector ${p.start}, inside the primary GPT (first usable sector ${firstUsable})` });
    else if (end > lastUsable) outside.push({ p, text: `${name(p)} ends at sector ${end}, inside the secondary GPT (last usable sector ${lastUsable})` });
  }
  if (outside.length) list.fail("layout-bounds", `layout: ${outside.map((o) => o.text).join("; ")}`, outside.length === 1 ? outside[0]!.p.index : undefined);
  else list.pass("layout-bounds", "layout: every partition lies inside the file, clear of both GPT copies");

  const sorted = partitions.filter((p) => p.size > 0).sort((a, b) => a.start - b.start);
  const overlaps: [Partition, Partition][] = [];
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    for (let j = i + 1; j < sorted.length && sorted[j]!.start < a.start + a.size; j++) overlaps.push([a, sorted[j]!]);
  }
  const span = (p: Partition) => `p${p.index} (sectors ${p.start}–${p.start + p.size - 1})`;
  if (overlaps.length) list.fail("layout-overlap", `layout: ${overlaps.map(([a, b]) => `${span(a)} overlaps ${span(b)}`).join("; ")}`);
  else list.pass("layout-overlap", "layout: no two partitions overlap");
}
