// `shimboot build` writes the disk image contract of DESIGN.md §2, checked
// with the vendor tools (cgpt, debugfs, dumpe2fs, e2fsck) and with verify.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fixture, FIXTURE_KERNEL_RELEASE, type FixtureName } from "../fixtures/fixtures.js";
import { buildImage } from "../helpers/build.js";
import { catFile, features, fsck, gptEntries, statPath } from "../helpers/image.js";
import { makeRootfsDir, tempDir } from "../helpers/rootfs.js";
import { runCli } from "../helpers/cli.js";
import { repoRoot } from "../fixtures/fixtures.js";

$.quiet = true;
const KERNEL = "FE3A2A5D-4F32-41A7-B725-ACCC3285A309";
const ROOTFS = "3CB8E202-3B7E-47DD-8A3C-7FF2A13CFCEC";
const DATA = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

let t: Awaited<ReturnType<typeof tempDir>>;
let rootfs: string;
let img: string;
let json: { plan: { partitions: { index: number; role: string }[] }; manifest: Record<string, any> };

beforeAll(async () => {
  t = await tempDir();
  rootfs = await makeRootfsDir(join(t.path, "rootfs"));
  // owners other than root, uid and gid apart (unprivileged, every file is the build user's)
  if (process.getuid?.() === 0) {
    await $`chown 1000:1000 ${join(rootfs, "etc/secret-mode")}`;
    await $`chown 0:1234 ${join(rootfs, "sbin/init")}`;
    await $`chown 4321:0 ${join(rootfs, "etc")}`;
  }
  const r = await buildImage(t.path, { rootfs, args: ["--flake-rev", "0123456789abcdef0123456789abcdef01234567"] });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  img = r.out;
  json = JSON.parse(r.stdout);
});
afterAll(() => t.cleanup());

describe("shimboot build (directory rootfs, x86 shim)", () => {
  it("lays out STATE, KERN-A, ROOT-A and the rootfs in that order with the contract's types", async () => {
    const g = await gptEntries(img);
    expect(g.map((p) => [p.index, p.label, p.type])).toEqual([
      [1, "STATE", DATA],
      [2, "KERN-A", KERNEL],
      [3, "ROOT-A", ROOTFS],
      [4, "shimboot_rootfs:nixos", DATA],
    ]);
  });

  it("gives KERN-A successful=1 tries=5 priority=10", async () => {
    expect((await $`cgpt show -i 2 -S ${img}`).stdout.trim()).toBe("1");
    expect((await $`cgpt show -i 2 -T ${img}`).stdout.trim()).toBe("5");
    expect((await $`cgpt show -i 2 -P ${img}`).stdout.trim()).toBe("10");
  });

  it("copies the shim's KERN-A byte for byte, sized from the shim", async () => {
    const shim = await fixture("shim-x86");
    const [s, n] = [(await $`cgpt show -i 2 -b ${shim}`).stdout.trim(), (await $`cgpt show -i 2 -s ${shim}`).stdout.trim()];
    const b = (await $`cgpt show -i 2 -b ${img}`).stdout.trim();
    expect((await $`cgpt show -i 2 -s ${img}`).stdout.trim()).toBe(n);
    const a = await $`dd if=${shim} bs=512 skip=${s} count=${n} status=none | sha256sum`;
    const c = await $`dd if=${img} bs=512 skip=${b} count=${n} status=none | sha256sum`;
    expect(c.stdout).toBe(a.stdout);
  });

  it("passes shimboot verify against the shim", async () => {
    const r = await runCli(["verify", "--json", "--shim", await fixture("shim-x86"), img]);
    expect(JSON.parse(r.stdout).checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
    expect(r.code).toBe(0);
  });

  it("writes file systems that e2fsck finds clean", async () => {
    for (const i of [1, 3, 4]) expect((await fsck(img, i)).code, `partition ${i}`).toBe(0);
  });

  it("puts lsb-factory and factory/sh on STATE", async () => {
    expect(await statPath(img, 1, "/dev_image/etc/lsb-factory")).toMatchObject({ type: "regular" });
    expect(await statPath(img, 1, "/dev_image/factory/sh")).toMatchObject({ type: "directory" });
  });

  it("keeps the shim initramfs's device nodes, links and owners on p3", async () => {
    expect(await statPath(img, 3, "/dev/console")).toMatchObject({ type: "character special", device: { major: 5, minor: 1 }, uid: 0, gid: 0, mode: 0o600 });
    expect((await statPath(img, 3, "/sbin"))!.text).toMatch(/Fast link dest: "bin"/);
    expect((await statPath(img, 3, "/usr"))!.text).toMatch(/Fast link dest: "\."/);
    expect(await statPath(img, 3, "/root")).toMatchObject({ type: "directory", mode: 0o700 });
    const a = await statPath(img, 3, "/bin/frecon");
    const b = await statPath(img, 3, "/bin/frecon-lite");
    expect(/Links: (\d+)/.exec(a!.text)?.[1]).toBe("2");
    expect(/Inode: (\d+)/.exec(a!.text)?.[1]).toBe(/Inode: (\d+)/.exec(b!.text)?.[1]);
  });

  it("replaces bin/init and bin/bootstrap.sh with the shimboot bootloader", async () => {
    for (const f of ["bin/init", "bin/bootstrap.sh"]) {
      expect(await catFile(img, 3, `/${f}`)).toBe(await readFile(join(repoRoot, "scripts/bootloader", f), "utf8"));
      expect((await statPath(img, 3, `/${f}`))!.mode).toBe(0o755);
    }
  });

  it("writes the bootloader configuration with the rootfs as default", async () => {
    const conf = await catFile(img, 3, "/etc/shimboot/bootloader.conf");
    expect(conf).toMatch(/^SHIMBOOT_TIMEOUT=5$/m);
    expect(conf).toMatch(/^SHIMBOOT_DEFAULT="nixos"$/m);
  });

  it("records inputs' SHA-256, tool version and flake revision in the manifest", async () => {
    const m = JSON.parse(await catFile(img, 3, "/shimboot/manifest.json"));
    const shimSha = (await $`sha256sum ${await fixture("shim-x86")}`).stdout.split(" ")[0];
    expect(m.inputs.shim.sha256).toBe(shimSha);
    expect(m.inputs.recovery.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m.tool).toEqual({ name: "shimboot-nixos", version: expect.any(String) });
    expect(m.flakeRevision).toBe("0123456789abcdef0123456789abcdef01234567");
    expect(m.kernelRelease).toBe(FIXTURE_KERNEL_RELEASE);
    expect(json.manifest).toEqual(m);
  });

  it("makes the rootfs owned by root:root with the source's modes, whoever owned the source", async () => {
    expect(await statPath(img, 4, "/sbin/init")).toMatchObject({ uid: 0, gid: 0, mode: 0o755 });
    expect(await statPath(img, 4, "/etc/secret-mode")).toMatchObject({ uid: 0, gid: 0, mode: 0o600 });
    expect(await statPath(img, 4, "/etc")).toMatchObject({ uid: 0, gid: 0 });
    expect(await catFile(img, 4, "/etc/hostname")).toBe("shimboot\n");
  });

  it("pins every inode change time to SOURCE_DATE_EPOCH (default 1)", async () => {
    expect((await statPath(img, 4, "/etc/hostname"))!.ctime).toBe(1);
    expect((await statPath(img, 3, "/bin/init"))!.ctime).toBe(1);
  });

  it("keeps the rootfs's own modification times (they are content)", async () => {
    const src = Math.floor((await stat(join(rootfs, "etc/hostname"))).mtimeMs / 1000);
    expect(/mtime: 0x([0-9a-f]+)/.exec((await statPath(img, 4, "/etc/hostname"))!.text)?.[1]).toBe(src.toString(16).padStart(8, "0"));
  });

  it("chooses ext4 features the 5.4 kernel mounts (no orphan_file)", async () => {
    const f = await features(img, 4);
    expect(f).toContain("metadata_csum");
    expect(f).not.toContain("orphan_file");
  });

  it("writes a sparse file whose allocation is close to its data", async () => {
    const st = await stat(img);
    expect(st.blocks * 512).toBeLessThan(st.size / 4);
  });

  it("leaves no temporary files next to the output or in TMPDIR", async () => {
    const left = (await readdir(t.path)).filter((n) => !["rootfs", "shimboot.bin"].includes(n));
    expect(left).toEqual([]);
  });

  it("is inspected as a shimboot image with its manifest and root file systems", async () => {
    const r = await runCli(["inspect", "--json", "--no-hash", img]);
    const j = JSON.parse(r.stdout);
    expect(j.kind).toBe("shimboot");
    expect(j.shimboot.rootfs).toEqual([{ index: 4, label: "nixos" }]);
    expect(j.shimboot.manifest.flakeRevision).toBe("0123456789abcdef0123456789abcdef01234567");
    const text = await runCli(["inspect", "--no-hash", img]);
    expect(text.stdout).toMatch(/root file systems: nixos \(p4\)/);
  });
});

describe("shimboot build on every fixture variant", () => {
  const variants: [FixtureName, string[], string[]][] = [
    ["shim-x86-zstd-lz4", ["metadata_csum"], ["metadata_csum_seed", "orphan_file"]],
    ["shim-x86-lz4-gzip", ["orphan_file", "metadata_csum_seed"], []],
    ["shim-x86-xz-zstd", ["metadata_csum"], ["metadata_csum_seed"]],
    ["shim-x86-bzip2-lzma", ["metadata_csum"], ["metadata_csum_seed", "orphan_file"]],
    ["shim-arm64", ["metadata_csum_seed"], ["orphan_file"]],
  ];
  for (const [shim, want, refuse] of variants) {
    it(`builds a verified image from ${shim} with features for its kernel`, async () => {
      const d = await tempDir();
      try {
        const r = await buildImage(d.path, { shim, recovery: null, rootfs });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const v = await runCli(["verify", "--shim", await fixture(shim), r.out]);
        expect(v.code, v.stdout).toBe(0);
        const f = await features(r.out, 4);
        for (const w of want) expect(f).toContain(w);
        for (const x of refuse) expect(f).not.toContain(x);
        expect((await fsck(r.out, 4)).code).toBe(0);
      } finally {
        await d.cleanup();
      }
    });
  }
});
