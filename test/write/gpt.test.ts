// The partition table shimboot writes is byte for byte what vboot_reference's
// cgpt writes for the same layout (create, edit -u, add per partition,
// boot -p), and cgpt reads it back as valid.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { open, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gptRegions, writeGpt } from "../../scripts/write/gpt.js";
import type { Plan } from "../../scripts/plan/plan.js";
import { tempDir } from "../helpers/rootfs.js";

$.quiet = true;
const DATA = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
const KERNEL = "FE3A2A5D-4F32-41A7-B725-ACCC3285A309";
const ROOTFS = "3CB8E202-3B7E-47DD-8A3C-7FF2A13CFCEC";

type Part = Plan["partitions"][number];
const part = (index: number, start: number, size: number, type: string, label: string, uuid: string, attributes: Part["attributes"] = null) =>
  ({ index, start, size, type, label, uuid, attributes }) as unknown as Part;

const layouts: Record<string, Pick<Plan, "diskGuid" | "totalSectors" | "partitions">> = {
  "the usual four partitions": {
    diskGuid: "a5ace708-729c-4950-9c04-11adcbacc9af",
    totalSectors: 630784 as Plan["totalSectors"],
    partitions: [
      part(1, 2048, 2048, DATA, "STATE", "ec8ef198-addc-44e0-b5ef-0123456789ab"),
      part(2, 4096, 32768, KERNEL, "KERN-A", "c7052d4c-5c8e-456c-a6de-0123456789ab", { successful: 1, tries: 5, priority: 10 }),
      part(3, 36864, 18432, ROOTFS, "ROOT-A", "aab19330-79d9-4452-a0f1-0123456789ab"),
      part(4, 55296, 573440, DATA, "shimboot_rootfs:nixos", "bfbd0000-1111-4222-8333-444455556666"),
    ],
  },
  "a vendor partition and a non-ASCII label of 35 units": {
    diskGuid: "01234567-89AB-4DEF-8123-456789ABCDEF",
    totalSectors: 260096 as Plan["totalSectors"],
    partitions: [
      part(1, 2048, 2048, DATA, "STATE", "11111111-2222-4333-8444-555555555555"),
      part(2, 4096, 65536, KERNEL, "KERN-A", "21111111-2222-4333-8444-555555555555", { successful: 1, tries: 5, priority: 10 }),
      part(3, 69632, 8192, ROOTFS, "ROOT-A", "31111111-2222-4333-8444-555555555555"),
      part(4, 77824, 16384, DATA, "shimboot_rootfs:vendor", "41111111-2222-4333-8444-555555555555"),
      part(5, 94208, 163840, DATA, "shimboot_rootfs:nïxos-desktop-2026a", "51111111-2222-4333-8444-555555555555"),
    ],
  },
};

let t: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => void (t = await tempDir()));
afterAll(() => t.cleanup());

async function withCgpt(path: string, l: (typeof layouts)[string]) {
  await writeFile(path, "");
  await truncate(path, l.totalSectors * 512);
  await $`cgpt create ${path}`;
  await $`cgpt edit -u ${l.diskGuid} ${path}`;
  for (const p of l.partitions) {
    const a = p.attributes ? ["-S", p.attributes.successful, "-T", p.attributes.tries, "-P", p.attributes.priority] : [];
    await $`cgpt add -i ${p.index} -b ${p.start} -s ${p.size} -t ${p.type} -l ${p.label} -u ${p.uuid} ${a} ${path}`;
  }
  await $`cgpt boot -p ${path}`;
}

describe("writeGpt", () => {
  for (const [name, l] of Object.entries(layouts)) {
    it(`writes what cgpt writes, byte for byte, for ${name}`, async () => {
      const theirs = join(t.path, "cgpt.img");
      const ours = join(t.path, "ours.img");
      await withCgpt(theirs, l);
      await writeFile(ours, "");
      await truncate(ours, l.totalSectors * 512);
      await writeGpt(ours, l as Plan);
      for (const [offset, bytes] of gptRegions(l as Plan)) {
        const theirBytes = Buffer.alloc(bytes.length);
        const fh = await open(theirs, "r");
        await fh.read(theirBytes, 0, bytes.length, offset);
        await fh.close();
        expect(bytes.equals(theirBytes), `the ${bytes.length} bytes at ${offset}`).toBe(true);
      }
      expect((await $`cmp ${theirs} ${ours}`.nothrow()).exitCode, "cgpt writes nothing else").toBe(0);
    });
  }

  it("keeps a name of all 36 UTF-16 units (a 20-character --name), which cgpt add would cut to 35", async () => {
    const l = layouts["the usual four partitions"]!;
    const full = { ...l, partitions: l.partitions.map((p) => (p.index === 4 ? { ...p, label: "shimboot_rootfs:nixos-desktop-202612" } : p)) } as Plan;
    const path = join(t.path, "long-name.img");
    await writeFile(path, "");
    await truncate(path, l.totalSectors * 512);
    await writeGpt(path, full);
    expect((await $`cgpt show -i 4 -l ${path}`).stdout.trim()).toBe("shimboot_rootfs:nixos-desktop-202612");
  });

  it("gives a table cgpt reads back without complaint, attributes included", async () => {
    const l = layouts["the usual four partitions"]!;
    const path = join(t.path, "read-back.img");
    await writeFile(path, "");
    await truncate(path, l.totalSectors * 512);
    await writeGpt(path, l as Plan);
    const show = await $`cgpt show -n ${path}`;
    expect(show.stderr).toBe("");
    expect(show.stdout).not.toMatch(/INVALID/);
    expect((await $`cgpt show -i 2 -P ${path}`).stdout.trim()).toBe("10");
    expect((await $`cgpt show -i 2 -T ${path}`).stdout.trim()).toBe("5");
    expect((await $`cgpt show -i 2 -S ${path}`).stdout.trim()).toBe("1");
    expect((await $`cgpt show -i 4 -l ${path}`).stdout.trim()).toBe("shimboot_rootfs:nixos");
  });
});
