// --rootfs IMAGE: the ext4 image Nix builds is placed with only its used
// blocks copied, grown to the planned size, and drivers/Wi-Fi added to it.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { coreutilsBlockHash } from "../helpers/block-hash.js";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FIXTURE_KERNEL_RELEASE } from "../fixtures/fixtures.js";
import { buildImage } from "../helpers/build.js";
import { catFile, fsck, partitionSpec, statPath } from "../helpers/image.js";
import { makeRootfsDir, makeRootfsImage, tempDir } from "../helpers/rootfs.js";
import { runCli } from "../helpers/cli.js";

$.quiet = true;
let t: Awaited<ReturnType<typeof tempDir>>;
let img: string;
let source: string;
let stdout: string;
beforeAll(async () => {
  t = await tempDir();
  const dir = await makeRootfsDir(join(t.path, "tree"));
  source = await makeRootfsImage(dir, join(t.path, "nixos.img"), 48);
  await writeFile(join(t.path, "wifi.json"), JSON.stringify({ networks: [{ ssid: "Home Net", psk: "correct horse battery" }, { ssid: "cafe" }] }));
  const r = await buildImage(t.path, { rootfs: source, args: ["--wifi", join(t.path, "wifi.json"), "--extra-space", "32M"] });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  img = r.out;
  stdout = r.stdout;
});
afterAll(() => t.cleanup());

describe("shimboot build --rootfs IMAGE", () => {
  it("keeps the image's content and label", async () => {
    expect(await catFile(img, 4, "/etc/hostname")).toBe("shimboot\n");
    const out = (await $`debugfs -R ${"stats -h"} ${await partitionSpec(img, 4)}`).stdout;
    expect(out).toMatch(/Filesystem volume name:\s+nixos/);
  });

  it("grows the file system to fill its partition", async () => {
    const out = (await $`debugfs -R ${"stats -h"} ${await partitionSpec(img, 4)}`).stdout;
    const blocks = Number(/Block count:\s+(\d+)/.exec(out)![1]);
    const blockSize = Number(/Block size:\s+(\d+)/.exec(out)![1]);
    const sectors = Number((await $`cgpt show -i 4 -s ${img}`).stdout);
    expect(blocks * blockSize).toBe(sectors * 512);
    expect(blocks * blockSize).toBeGreaterThan(48 * 1024 * 1024 + 32 * 1024 * 1024 - 1);
  });

  it("adds the drivers to the image", async () => {
    expect(await statPath(img, 4, `/lib/modules/${FIXTURE_KERNEL_RELEASE}/modules.dep`)).not.toBeNull();
  });

  it("writes each Wi-Fi network as a NetworkManager keyfile, mode 0600, owned by root", async () => {
    const f = "/etc/NetworkManager/system-connections/Home_Net.nmconnection";
    expect(await statPath(img, 4, f)).toMatchObject({ mode: 0o600, uid: 0, gid: 0 });
    const text = await catFile(img, 4, f);
    expect(text).toMatch(/^ssid=Home Net$/m);
    expect(text).toMatch(/^psk=correct horse battery$/m);
    expect(await catFile(img, 4, "/etc/NetworkManager/system-connections/cafe.nmconnection")).not.toContain("psk=");
  });

  it("records the rootfs image's block hash in the manifest", async () => {
    const want = await coreutilsBlockHash(source);
    expect(JSON.parse(stdout).manifest.inputs.rootfs).toEqual({ kind: "image", blockSha256: want });
    expect(JSON.parse(await catFile(img, 3, "/shimboot/manifest.json")).inputs.rootfs.blockSha256).toBe(want);
  });

  it("never prints a Wi-Fi password", () => {
    expect(stdout).not.toContain("correct horse battery");
  });

  it("leaves a clean file system", async () => {
    expect((await fsck(img, 4)).code).toBe(0);
  });

  it("passes verify", async () => {
    expect((await runCli(["verify", img])).code).toBe(0);
  });
});
