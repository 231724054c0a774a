// KERN-A is read once: the SHA-256 covers every byte of the partition, while
// only the vboot blob (keyblock, preamble, body) is kept in memory.
import { describe, it, expect } from "vitest";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fixture } from "../fixtures/fixtures.js";
import { ImageFile } from "../../scripts/read/image-file.js";
import { readPartitionTable } from "../../scripts/read/gpt.js";
import { readKernelPartition } from "../../scripts/read/kernel-partition.js";
import { parseVbootKernel } from "../../scripts/read/vboot.js";
import { toBytes } from "../../scripts/lib/units.js";

async function kernA() {
  const path = await fixture("shim-x86");
  const img = await ImageFile.open(path);
  const p = (await readPartitionTable(img)).partitions.find((x) => x.label === "KERN-A")!;
  const whole = (await readFile(path)).subarray(toBytes(p.start), toBytes(p.start) + toBytes(p.size));
  return { img, p, whole };
}

describe("reading a kernel partition", () => {
  it("hashes the whole partition, padding included", async () => {
    const { img, p, whole } = await kernA();
    try {
      const r = await readKernelPartition(img, p);
      expect(await r.sha256).toBe(createHash("sha256").update(whole).digest("hex"));
    } finally {
      await img.close();
    }
  });

  it("keeps the partition's bytes up to the end of the kernel body, and no more", async () => {
    const { img, p, whole } = await kernA();
    try {
      const { blob } = await readKernelPartition(img, p);
      const vb = parseVbootKernel(whole, "KERN-A");
      expect(blob.length).toBe(vb.bodyOffset + vb.preamble.bodySize);
      expect(blob.length).toBeLessThan(whole.length);
      expect(blob.equals(whole.subarray(0, blob.length))).toBe(true);
    } finally {
      await img.close();
    }
  });
});
