// --rootfs IMAGE for every ext4 image a user's mke2fs makes: block sizes
// 1, 2 and 4 KiB, each optional feature on and off, features the shim's
// kernel cannot mount (removed on the copy, or refused), small and large
// growth, nearly full. Each built image must pass the build's own verify
// (shimboot verify with --shim, which refuses to rename a failing image),
// be e2fsck-clean and keep the image's data byte for byte; each refusal is
// one line.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { createHash, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fixture, type FixtureName } from "../fixtures/fixtures.js";
import { runCli } from "../helpers/cli.js";
import { features, fsck, partitionSpec, sha256 } from "../helpers/image.js";
import { makeRootfsDir, tempDir } from "../helpers/rootfs.js";
import { build } from "../../scripts/commands/build.js";
import { resolveBuildOptions } from "../../scripts/commands/build-options.js";

$.quiet = true;
let t: Awaited<ReturnType<typeof tempDir>>;
let tree: string;
beforeAll(async () => {
  t = await tempDir();
  tree = await makeRootfsDir(join(t.path, "tree"));
});
afterAll(() => t.cleanup());

interface Cell {
  mke2fs: string[];
  /** file system size in KiB; the image file can be larger */
  kib: number;
  fileKib?: number;
  /** fill the file system to within this many free blocks with one file */
  fillTo?: number;
  shim?: FixtureName;
  flags?: Record<string, string>;
}

let n = 0;
async function makeImage(c: Cell): Promise<{ path: string; bulk: string | null }> {
  const path = join(t.path, `rootfs-${n++}.img`);
  await $({ env: { ...process.env, MKE2FS_CONFIG: "/etc/mke2fs.conf" } })`mke2fs -q -F -t ext4 ${c.mke2fs} -E root_owner=0:0 -d ${tree} ${path} ${c.kib}k`;
  if (c.fileKib) await $`truncate -s ${c.fileKib}k ${path}`;
  let bulk: string | null = null;
  if (c.fillTo !== undefined) {
    const out = (await $`dumpe2fs -h ${path}`).stdout;
    const free = Number(/^Free blocks:\s+(\d+)/m.exec(out)![1]);
    const bs = Number(/^Block size:\s+(\d+)/m.exec(out)![1]);
    // a file's extent tree needs a few blocks of its own
    bulk = join(t.path, `bulk-${n}`);
    await writeFile(bulk, randomBytes((free - c.fillTo - 8) * bs));
    await $`debugfs -w -R ${`write ${bulk} bulk`} ${path}`;
  }
  return { path, bulk };
}

/** Built in-process (the CLI's start-up and board table once per file, not per cell); refusals go through the CLI. */
async function buildFrom(c: Cell) {
  const img = await makeImage(c);
  const before = await sha256(img.path);
  const out = join(t.path, `out-${n}.bin`);
  const flags = { shim: await fixture(c.shim ?? "shim-x86"), rootfs: img.path, out, extraSpace: "4M", ...c.flags };
  const userFileUnchanged = async () => (await sha256(img.path)) === before;
  return { out, img, flags, userFileUnchanged };
}

async function expectGoodImage(c: Cell) {
  const r = await buildFrom(c);
  await build(resolveBuildOptions(r.flags, {}));
  const check = await fsck(r.out, 4);
  expect(check.output).not.toMatch(/differences|wrong|not set|checksum/i);
  expect(check.code).toBe(0);
  if (r.img.bulk) {
    const copy = join(t.path, `dumped-${n}`);
    await $`debugfs -R ${`dump /bulk ${copy}`} ${await partitionSpec(r.out, 4)}`;
    expect(createHash("sha256").update(await readFile(copy)).digest("hex")).toBe(createHash("sha256").update(await readFile(r.img.bulk)).digest("hex"));
  }
  expect(await r.userFileUnchanged()).toBe(true);
  return r;
}

async function expectRefusal(c: Cell, message: RegExp) {
  const { img, flags } = await buildFrom(c);
  const r = await runCli(["build", "--shim", flags.shim, "--rootfs", img.path, "--out", flags.out]);
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split("\n");
  expect(lines[0]).toMatch(message);
  expect(lines[0]).toContain(img.path);
  expect(lines.slice(1).every((l) => l.startsWith("  hint: "))).toBe(true);
}

describe("--rootfs IMAGE from mke2fs", () => {
  for (const bs of [1024, 2048, 4096]) {
    it(`accepts ${bs / 1024} KiB blocks with Debian's default features, with drivers injected`, async () => {
      await expectGoodImage({ mke2fs: ["-b", String(bs)], kib: 24 * 1024 });
    });
  }

  const variants: [string, string[]][] = [
    ["without 64bit", ["-b", "1024", "-O", "^64bit"]],
    ["without metadata_csum", ["-b", "2048", "-O", "^metadata_csum"]],
    ["without flex_bg", ["-b", "1024", "-O", "^flex_bg"]],
    ["without resize_inode", ["-b", "1024", "-O", "^resize_inode"]],
    ["with sparse_super2", ["-b", "1024", "-O", "sparse_super2"]],
    ["without huge_file and dir_nlink", ["-b", "4096", "-O", "^huge_file,^dir_nlink"]],
    ["without a journal or extents (ext2-like)", ["-b", "1024", "-O", "^has_journal,^extent,^flex_bg,^64bit,^metadata_csum,^huge_file,^dir_nlink,^extra_isize"]],
  ];
  for (const [name, args] of variants) {
    it(`accepts an image ${name}`, async () => {
      await expectGoodImage({ mke2fs: args, kib: 24 * 1024 });
    });
  }

  it("keeps every byte of a nearly full 1 KiB-block image", async () => {
    await expectGoodImage({ mke2fs: ["-b", "1024"], kib: 16 * 1024, fillTo: 64 });
  });

  it("keeps every byte of a nearly full 4 KiB-block image, whose last blocks lie past the partition's offset", async () => {
    await expectGoodImage({ mke2fs: ["-b", "4096"], kib: 48 * 1024, fillTo: 16 });
  });

  it("accepts an image file longer than its file system", async () => {
    await expectGoodImage({ mke2fs: ["-b", "1024"], kib: 12 * 1024, fileKib: 40 * 1024 });
  });

  it("grows a small image by many times its size", async () => {
    await expectGoodImage({ mke2fs: ["-b", "1024"], kib: 8 * 1024, flags: { extraSpace: "96M" } });
  });

  it("grows an image with almost no free inodes so that the drivers fit", async () => {
    await expectGoodImage({ mke2fs: ["-b", "4096", "-N", "32"], kib: 16 * 1024 });
  });

  it("removes orphan_file from the copy for a 5.4 kernel, not from the user's file", async () => {
    const r = await expectGoodImage({ mke2fs: ["-b", "4096", "-O", "orphan_file,metadata_csum_seed"], kib: 24 * 1024 });
    const f = await features(r.out, 4);
    expect(f).not.toContain("orphan_file");
    expect(f).toContain("metadata_csum_seed");
  });

  it("removes metadata_csum_seed and orphan_file for a 4.14 kernel", async () => {
    const r = await expectGoodImage({ mke2fs: ["-b", "1024", "-O", "orphan_file,metadata_csum_seed"], kib: 24 * 1024, shim: "shim-x86-zstd-lz4" });
    const f = await features(r.out, 4);
    expect(f).not.toContain("orphan_file");
    expect(f).not.toContain("metadata_csum_seed");
  });

  it("refuses large_dir for a 4.4 kernel, saying which kernel it needs and what to do", async () => {
    await expectRefusal({ mke2fs: ["-O", "large_dir"], kib: 16 * 1024, shim: "shim-x86-bzip2-lzma" }, /--rootfs: the shim's kernel 4\.4\.35 cannot mount this file system: large_dir \(needs kernel 4\.13\)/);
  });

  it("refuses bigalloc, which resize2fs cannot grow, in one line", async () => {
    await expectRefusal({ mke2fs: ["-O", "bigalloc", "-C", "16384"], kib: 32 * 1024 }, /--rootfs: the file system uses bigalloc, which resize2fs cannot grow reliably/);
  });

  it("refuses an image whose journal needs recovery", async () => {
    const { path } = await makeImage({ mke2fs: ["-b", "4096"], kib: 16 * 1024 });
    await $`debugfs -w -R ${"feature needs_recovery"} ${path}`;
    const r = await runCli(["build", "--shim", await fixture("shim-x86"), "--rootfs", path, "--out", join(t.path, "never.bin")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--rootfs: the file system was not cleanly unmounted/);
  });

  it("refuses a damaged image with e2fsck's finding, and leaves nothing behind", async () => {
    const { path } = await makeImage({ mke2fs: ["-b", "1024"], kib: 16 * 1024 });
    await $`debugfs -w -R ${"sif /etc/hostname links_count 7"} ${path}`;
    const out = join(t.path, "damaged.bin");
    const r = await runCli(["build", "--shim", await fixture("shim-x86"), "--rootfs", path, "--out", out], { env: { TMPDIR: t.path } });
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")[0]).toMatch(new RegExp(`^shimboot: ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: --rootfs: the ext4 image is damaged \\(e2fsck: .*\\)$`));
    expect((await $`ls -A ${t.path}`).stdout).not.toMatch(/damaged\.bin|partial/);
  });
});
