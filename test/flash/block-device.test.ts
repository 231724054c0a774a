// A real block device: a loop device over a file (root only; skipped
// otherwise). A loop device is neither removable nor USB, like an internal disk.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { $ } from "zx";
import { join } from "node:path";
import { tempDir } from "../helpers/rootfs.js";
import { builtImage, flashCli, gptHeaderAt, sha256, sizeOf, targetFile } from "./helpers.js";

$.quiet = true;

// a free loop device is needed (containers often have none)
const canLoop = process.getuid?.() === 0 && (await $`losetup --find`.nothrow()).exitCode === 0;

describe.skipIf(!canLoop)("shimboot flash onto a loop device", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let image: string;
  let backing: string;
  let loop = "";
  beforeAll(async () => {
    ({ path: dir, cleanup } = await tempDir("shimboot-flash-loop-"));
    image = await builtImage(dir);
    backing = await targetFile(join(dir, "backing.bin"), (await sizeOf(image)) + 16 * 1024 * 1024);
    loop = (await $`losetup --find --show ${backing}`).stdout.trim();
  });
  afterAll(async () => {
    if (loop) await $`losetup -d ${loop}`.nothrow();
    await cleanup();
  });

  it("refuses it as a fixed disk without --force-non-removable, writing nothing", async () => {
    const before = await sha256(backing);
    const r = await flashCli([image, loop, "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`shimboot: ${loop}: is not a removable or USB drive (unknown model, 76.0 MiB, fixed disk): it may be an internal disk`);
    expect(await sha256(backing)).toBe(before);
  });

  it("writes, reads back from the drive and moves the backup GPT with --force-non-removable", async () => {
    const r = await flashCli([image, loop, "--yes", "--force-non-removable", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ device: { kind: "block", name: loop.replace("/dev/", ""), removable: false, usb: false }, readback: { ok: true, cacheDropped: true }, gpt: { moved: true } });
    const last = (await sizeOf(backing)) / 512 - 1;
    expect(await gptHeaderAt(backing, last)).toMatchObject({ myLba: BigInt(last), alternateLba: 1n });
    expect((await $`cgpt show ${backing}`).stdout).not.toMatch(/INVALID/);
  });
});
