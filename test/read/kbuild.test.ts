// The reader, the build and verify on the fixture shims with a real kbuild
// bzImage (test/kernel/): its real payload layout, relocations and
// .init.data, for each payload and initramfs compression, with the initramfs
// made by GNU cpio or by the kernel's own gen_init_cpio (symlink targets
// stored with a trailing NUL, which the kernel ignores: so must we).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { $ } from "zx";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { FIXTURES, fixture, type FixtureName } from "../fixtures/fixtures.js";
import { KBUILD_RELEASE, KBUILD_VARIANTS } from "../kernel/build.js";
import { buildImage } from "../helpers/build.js";
import { runCli } from "../helpers/cli.js";
import { catFile, statPath } from "../helpers/image.js";
import { makeRootfsDir, tempDir } from "../helpers/rootfs.js";

$.quiet = true;

const KBUILD_FIXTURES = (Object.keys(FIXTURES) as FixtureName[]).filter((n) => n.startsWith("shim-kbuild"));

async function inspect(name: FixtureName) {
  const r = await runCli(["inspect", "--json", "--no-hash", await fixture(name)]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

let t: Awaited<ReturnType<typeof tempDir>>;
let rootfs: string;
beforeAll(async () => {
  t = await tempDir();
  rootfs = await makeRootfsDir(join(t.path, "rootfs"));
});
afterAll(() => t.cleanup());

it("covers every kernel variant and both archive makers", () => {
  const used = KBUILD_FIXTURES.map((n) => (FIXTURES[n] as { kbuild: keyof typeof KBUILD_VARIANTS }).kbuild);
  expect(used.sort()).toEqual(Object.keys(KBUILD_VARIANTS).sort());
  expect(new Set(Object.values(KBUILD_VARIANTS).map((v) => v.maker))).toEqual(new Set(["gen_init_cpio", "gnu-cpio"]));
});

describe.each(KBUILD_FIXTURES)("%s (a real kbuild kernel)", (name) => {
  const spec = FIXTURES[name] as (typeof FIXTURES)["shim-kbuild"];
  const variant = KBUILD_VARIANTS[spec.kbuild];

  it(`reads the ${variant.payload} payload, the release and the ${variant.initramfs} initramfs in .init.data`, async () => {
    const r = await inspect(name);
    expect(r.kernel).toMatchObject({ arch: "x86_64", format: "bzImage", payloadCompression: variant.payload, release: KBUILD_RELEASE });
    expect(r.kernel.initramfs).toMatchObject({ present: true, compression: variant.initramfs, location: { section: ".init.data" } });
    expect(r.rootfs.moduleReleases).toEqual([KBUILD_RELEASE]);
  });

  it(`sees the shim's links as the kernel creates them (initramfs by ${variant.maker})`, async () => {
    const r = await inspect(name);
    expect(r.kernel.initramfs.notable).toMatchObject({ busybox: true, cgpt: true, sbinToBin: true, usrToDot: true, devConsole: true, bootstrapSh: true, init: true });
  });

  it("builds an image whose partition 3 has every link as the kernel would, and verify passes", async () => {
    const d = join(t.path, name);
    await mkdir(d);
    const r = await buildImage(d, { shim: name, recovery: null, rootfs, args: ["--drivers", "vendor"] });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((await statPath(r.out, 3, "/sbin"))!.text).toMatch(/Fast link dest: "bin"$/m);
    expect((await statPath(r.out, 3, "/bin/sh"))!.text).toMatch(/Fast link dest: "busybox"$/m);
    expect((await statPath(r.out, 3, "/usr"))!.text).toMatch(/Fast link dest: "\."$/m);
    // the harvested modules: decompressed, depmod re-run, the real kernel's release
    const dep = await catFile(r.out, 4, `/lib/modules/${KBUILD_RELEASE}/modules.dep`);
    expect(dep).toMatch(/^kernel\/drivers\/block\/loop\.ko:$/m);
    expect(dep).toMatch(/^kernel\/drivers\/md\/dm-crypt\.ko: kernel\/drivers\/md\/dm-mod\.ko$/m);
    const v = await runCli(["verify", r.out, "--shim", await fixture(name)]);
    expect(v.stdout).toContain("checks passed");
    expect(v.code).toBe(0);
  });
});
