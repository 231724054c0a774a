// Moving an image's backup GPT to the end of a larger drive, checked with
// cgpt and a plain reading of the headers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { $ } from "zx";
import { open, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GptError, relocateBackupGpt } from "../../scripts/flash/gpt-relocate.js";
import { tempDir } from "../helpers/rootfs.js";
import { builtImage, copyOf, gptHeaderAt, sha256, sizeOf } from "./helpers.js";

$.quiet = true;

let dir: string;
let cleanup: () => Promise<void>;
let image: string;
let imageSize: number;
beforeAll(async () => {
  ({ path: dir, cleanup } = await tempDir("shimboot-gpt-"));
  image = await builtImage(dir);
  imageSize = await sizeOf(image);
});
afterAll(async () => {
  await cleanup();
});

async function relocate(path: string, bytes: number) {
  const fh = await open(path, "r+");
  try {
    return await relocateBackupGpt(fh, bytes);
  } finally {
    await fh.close();
  }
}

async function cgptClean(path: string) {
  const r = await $`cgpt show ${path}`.nothrow();
  return r.exitCode === 0 && r.stderr === "" && !/INVALID/.test(r.stdout);
}

describe("relocateBackupGpt", () => {
  it("changes nothing when the backup is already at the drive's last sector", async () => {
    const copy = await copyOf(image, join(dir, "same.bin"));
    const before = await sha256(copy);
    expect(await relocate(copy, imageSize)).toEqual({ moved: false, fromLba: imageSize / 512 - 1, toLba: imageSize / 512 - 1, lastUsableLba: imageSize / 512 - 34 });
    expect(await sha256(copy)).toBe(before);
  });

  it("moves the backup to the end of a much larger drive and grows the usable area to it", async () => {
    const copy = await copyOf(image, join(dir, "big.bin"));
    const bytes = imageSize + 64 * 1024 * 1024;
    await truncate(copy, bytes);
    const last = bytes / 512 - 1;
    expect(await relocate(copy, bytes)).toEqual({ moved: true, fromLba: imageSize / 512 - 1, toLba: last, lastUsableLba: last - 33 });
    expect(await gptHeaderAt(copy, 1)).toMatchObject({ alternateLba: BigInt(last), lastUsableLba: BigInt(last - 33) });
    expect(await gptHeaderAt(copy, last)).toMatchObject({ myLba: BigInt(last), alternateLba: 1n, entriesLba: BigInt(last - 32) });
    expect(await gptHeaderAt(copy, imageSize / 512 - 1)).toBeNull();
    expect(await cgptClean(copy)).toBe(true);
  });

  it("grows the protective MBR's partition to cover the drive", async () => {
    const copy = await copyOf(image, join(dir, "mbr.bin"));
    const bytes = imageSize + 1024 * 1024;
    await truncate(copy, bytes);
    await relocate(copy, bytes);
    const fh = await open(copy, "r");
    const mbr = Buffer.alloc(512);
    await fh.read(mbr, 0, 512, 0);
    await fh.close();
    expect(mbr[446 + 4]).toBe(0xee);
    expect(mbr.readUInt32LE(446 + 12)).toBe(bytes / 512 - 1);
  });

  it("handles a drive only a few sectors larger, where the new backup overlaps the old one", async () => {
    const copy = await copyOf(image, join(dir, "tight.bin"));
    const bytes = imageSize + 8 * 512;
    await truncate(copy, bytes);
    const r = await relocate(copy, bytes);
    expect(r).toMatchObject({ moved: true, toLba: bytes / 512 - 1 });
    expect(await gptHeaderAt(copy, bytes / 512 - 1)).toMatchObject({ myLba: BigInt(bytes / 512 - 1), entriesLba: BigInt(bytes / 512 - 33) });
    expect(await cgptClean(copy)).toBe(true);
  });

  it("refuses a drive with no valid primary GPT", async () => {
    const junk = join(dir, "junk.bin");
    await writeFile(junk, Buffer.alloc(1024 * 1024, 0x5a));
    await expect(relocate(junk, 1024 * 1024)).rejects.toThrow(GptError);
  });
});
