// Drivers for the shim's kernel: modules decompressed with modules.dep
// regenerated, firmware shim → recovery → --firmware (last wins), the
// recovery's modprobe.d; into the rootfs, a vendor partition, or nowhere.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FIXTURE_KERNEL_RELEASE } from "../fixtures/fixtures.js";
import { buildImage } from "../helpers/build.js";
import { catFile, debugfs, fsck, gptEntries, statPath } from "../helpers/image.js";
import { makeRootfsDir, tempDir } from "../helpers/rootfs.js";
import { runCli } from "../helpers/cli.js";

$.quiet = true;
const R = FIXTURE_KERNEL_RELEASE;
let t: Awaited<ReturnType<typeof tempDir>>;
let rootfs: string;
let firmwareDir: string;
beforeAll(async () => {
  t = await tempDir();
  rootfs = await makeRootfsDir(join(t.path, "rootfs"));
  firmwareDir = join(t.path, "extra-fw");
  await mkdir(join(firmwareDir, "intel"), { recursive: true });
  await writeFile(join(firmwareDir, "intel/sof-jsl.ri"), "user-supplied DSP firmware\n");
  await writeFile(join(firmwareDir, "custom.bin"), "only in --firmware\n");
});
afterAll(() => t.cleanup());

async function build(name: string, args: string[]) {
  const d = join(t.path, name);
  await mkdir(d);
  const r = await buildImage(d, { rootfs, args });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return { img: r.out, json: JSON.parse(r.stdout) };
}

describe("--drivers inject (default)", () => {
  let img: string;
  let json: any;
  beforeAll(async () => ({ img, json } = await build("inject", ["--firmware", firmwareDir])));

  it("puts the modules of the shim's exact kernel release into the rootfs, decompressed", async () => {
    const ls = await debugfs(img, 4, `ls -p /lib/modules/${R}/kernel/drivers/block`);
    expect(ls).toContain("/loop.ko/");
    expect(ls).not.toContain(".ko.gz");
    expect(json.plan.drivers).toMatchObject({ moduleRelease: R, modules: 4 });
  });

  it("regenerates modules.dep for the decompressed modules", async () => {
    const dep = await catFile(img, 4, `/lib/modules/${R}/modules.dep`);
    expect(dep).toMatch(/^kernel\/crypto\/algif_skcipher\.ko: kernel\/crypto\/af_alg\.ko$/m);
    expect(dep).not.toContain(".gz");
  });

  it("lets the recovery image's firmware win over the shim's and lists the conflict", async () => {
    expect(await catFile(img, 4, "/lib/firmware/iwlwifi-9000-pu-b0-jf-b0-46.ucode")).toBe("recovery wifi firmware v46 (newer build)\n");
    expect(json.manifest.drivers.conflicts).toContainEqual({ path: "iwlwifi-9000-pu-b0-jf-b0-46.ucode", from: ["shim", "recovery"] });
  });

  it("lets --firmware win over both and merges its new files", async () => {
    expect(await catFile(img, 4, "/lib/firmware/intel/sof-jsl.ri")).toBe("user-supplied DSP firmware\n");
    expect(await catFile(img, 4, "/lib/firmware/custom.bin")).toBe("only in --firmware\n");
    expect(json.manifest.drivers.conflicts).toContainEqual({ path: "intel/sof-jsl.ri", from: ["recovery", "--firmware"] });
  });

  it("keeps the shim's firmware symlinks and subfolders", async () => {
    expect((await statPath(img, 4, "/lib/firmware/iwlwifi-9000.ucode"))!.text).toMatch(/Fast link dest: "iwlwifi-9000-pu-b0-jf-b0-46.ucode"/);
    expect(await catFile(img, 4, "/lib/firmware/intel/ibt-19-0-4.sfi")).toBe("shim bluetooth firmware\n");
  });

  it("copies the recovery's lib/modprobe.d and etc/modprobe.d into /lib/modprobe.d", async () => {
    const ls = await debugfs(img, 4, "ls -p /lib/modprobe.d");
    for (const f of ["iwlwifi.conf", "alsa-skl.conf", "blacklist-cros.conf"]) expect(ls).toContain(`/${f}/`);
  });

  it("is rejected by verify once its modules no longer match the kernel's release", async () => {
    const copy = join(t.path, "wrong-release.bin");
    await $`cp --sparse=always ${img} ${copy}`;
    const start = Number((await $`cgpt show -i 4 -b ${copy}`).stdout) * 512;
    await $({ input: `ln /lib/modules/${R} /lib/modules/5.4.0-other\nunlink /lib/modules/${R}\n` })`debugfs -w -f - ${`${copy}?offset=${start}`}`;
    const r = await runCli(["verify", copy]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`FAIL p4 rootfs nixos: lib/modules has no ${R.replace(/\./g, "\\.")}/modules\.dep`));
  });

  it("makes injected files root-owned", async () => {
    expect(await statPath(img, 4, `/lib/modules/${R}/modules.dep`)).toMatchObject({ uid: 0, gid: 0 });
  });
});

describe("--drivers vendor", () => {
  let img: string;
  beforeAll(async () => ({ img } = await build("vendor", ["--drivers", "vendor"])));

  it("adds a shimboot_rootfs:vendor partition before the rootfs, which stays last", async () => {
    const g = await gptEntries(img);
    expect(g.map((p) => p.label)).toEqual(["STATE", "KERN-A", "ROOT-A", "shimboot_rootfs:vendor", "shimboot_rootfs:nixos"]);
  });

  it("holds the modules and firmware on the vendor partition, not in the rootfs", async () => {
    expect(await debugfs(img, 4, `ls -p /lib/modules/${R}`)).toContain("/modules.dep/");
    expect(await catFile(img, 4, "/lib/firmware/regulatory.db")).toBe("shim regulatory\n");
    expect(await statPath(img, 5, "/lib/modules")).toBeNull();
  });

  it("writes a clean vendor file system", async () => {
    expect((await fsck(img, 4)).code).toBe(0);
  });
});

describe("--drivers none", () => {
  it("writes no modules or firmware anywhere", async () => {
    const { img, json } = await build("none", ["--drivers", "none"]);
    expect(await statPath(img, 4, "/lib/modules")).toBeNull();
    expect(await statPath(img, 4, "/lib/firmware")).toBeNull();
    expect(json.plan.drivers).toMatchObject({ mode: "none", modules: 0 });
  });
});
