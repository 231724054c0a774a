// What a built image holds: its apparent and allocated size and the data in
// it (used blocks of every ext file system, the kernel partition whole).
import { $ } from "zx";
import { stat } from "node:fs/promises";
import { extUsage } from "./inputs.js";

export interface OutputSizes {
  apparentBytes: number;
  allocatedBytes: number;
  /** used blocks of every ext file system in the image plus the other partitions' length */
  dataBytes: number;
  partitions: { index: number; startSector: number; sectors: number; usedBytes: number | null }[];
}

export async function outputSizes(img: string): Promise<OutputSizes> {
  const st = await stat(img);
  const rows = (await $`cgpt show -q -n ${img}`).stdout.trim().split("\n");
  const partitions: OutputSizes["partitions"] = [];
  let data = 0;
  for (const row of rows) {
    const [s, z, i] = row.trim().split(/\s+/).map(Number);
    if (s === undefined || z === undefined || i === undefined) continue;
    const u = await extUsage(`${img}?offset=${s * 512}`);
    const used = u ? (u.blockCount - u.freeBlocks) * u.blockSize : null;
    partitions.push({ index: i, startSector: s, sectors: z, usedBytes: used });
    data += used ?? z * 512; // non-ext partitions (the kernel) count whole
  }
  return { apparentBytes: st.size, allocatedBytes: st.blocks * 512, dataBytes: data, partitions };
}
