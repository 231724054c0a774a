// Both ways of placing an ext4 image into the disk image give the same file
// system: the kernel's copy of its data extents, and e2image's copy of its
// used blocks (the fallback where copy_file_range cannot be used).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { copyDataExtents, copyExtImage, copyRange, dataExtents, isZero } from "../../scripts/write/copy.js";
import { bytes } from "../../scripts/lib/units.js";
import { makeRootfsDir, makeRootfsImage, tempDir } from "../helpers/rootfs.js";

$.quiet = true;
let t: Awaited<ReturnType<typeof tempDir>>;
let src: string;
const OFFSET = 3 * 1024 * 1024;
beforeAll(async () => {
  t = await tempDir();
  src = await makeRootfsImage(await makeRootfsDir(join(t.path, "tree"), { bulkBytes: 4 * 1024 * 1024 }), join(t.path, "root.img"), 32);
});
afterAll(() => t.cleanup());

async function placed(name: string, how: (dest: string) => Promise<unknown>) {
  const dest = join(t.path, name);
  await writeFile(dest, "");
  await truncate(dest, 64 * 1024 * 1024);
  await how(dest);
  return dest;
}

/** What a reader of the file system sees: a listing with sizes, and file contents. */
async function contents(img: string) {
  const spec = `${img}?offset=${OFFSET}`;
  const ls = (await $`debugfs -R ${"ls -l /bulk"} ${spec}`).stdout.replace(/\d+-\w+-\d+ \d+:\d+/g, "");
  const data = (await $`debugfs -R ${"cat /bulk/blob-0"} ${spec} | sha256sum`).stdout;
  return ls + data + (await $`debugfs -R ${"cat /etc/hostname"} ${spec}`).stdout;
}

describe("placing an ext4 image", () => {
  it("lists a sparse image's data extents, holes left out", async () => {
    const e = (await dataExtents(src))!;
    const data = e.reduce((n, x) => n + x.length, 0);
    expect(e.length).toBeGreaterThan(1);
    expect(data).toBeLessThan((await stat(src)).size);
  });

  it("copies the data extents to the offset, leaving the rest of the file as it was", async () => {
    const dest = await placed("extents.img", (d) => copyDataExtents(src, d, bytes(OFFSET)));
    expect((await stat(dest)).size).toBe(64 * 1024 * 1024);
    expect((await $`e2fsck -fn ${`${dest}?offset=${OFFSET}`}`.nothrow()).exitCode).toBe(0);
    const cmp = await $`cmp -n ${32 * 1024 * 1024} -i 0:${OFFSET} ${src} ${dest}`.nothrow();
    expect(cmp.exitCode).toBe(0);
  });

  it("gives a file system e2fsck accepts with the e2image fallback too", async () => {
    const dest = await placed("e2image.img", (d) => copyExtImage(src, d, bytes(OFFSET)));
    expect((await $`e2fsck -fn ${`${dest}?offset=${OFFSET}`}`.nothrow()).exitCode).toBe(0);
    const viaExtents = await placed("extents2.img", (d) => copyDataExtents(src, d, bytes(OFFSET)));
    expect(await contents(dest)).toBe(await contents(viaExtents));
  });

  it("copies a byte range exactly and keeps zero chunks as holes", async () => {
    const dest = await placed("range.img", (d) => copyRange(src, bytes(0), d, bytes(OFFSET), bytes(32 * 1024 * 1024)));
    expect((await $`cmp -n ${32 * 1024 * 1024} -i 0:${OFFSET} ${src} ${dest}`.nothrow()).exitCode).toBe(0);
    expect((await stat(dest)).blocks * 512).toBeLessThan(32 * 1024 * 1024);
  });
});

describe("isZero", () => {
  it("is true only for a chunk of zeros, wherever the one other byte is", () => {
    const b = Buffer.alloc(4096);
    expect(isZero(b)).toBe(true);
    expect(isZero(b.subarray(0, 0))).toBe(true);
    for (const at of [0, 1, 2048, 4095]) {
      const c = Buffer.alloc(4096);
      c[at] = 1;
      expect(isZero(c)).toBe(false);
    }
    expect(isZero(Buffer.alloc(4096, 7))).toBe(false);
  });
});
