// `shimboot flash` end to end with the CLI, onto regular files (--allow-file):
// what ends up on the target, and every refusal leaving the target untouched.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { $ } from "zx";
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../helpers/rootfs.js";
import { runCli } from "../helpers/cli.js";
import { builtImage, cgptStart, copyOf, flashCli, gptHeaderAt, sha256, sizeOf, targetFile } from "./helpers.js";

$.quiet = true;

const MiB = 1024 * 1024;
let dir: string;
let cleanup: () => Promise<void>;
let image: string;
let imageSize: number;

beforeAll(async () => {
  ({ path: dir, cleanup } = await tempDir("shimboot-flash-"));
  image = await builtImage(dir);
  imageSize = await sizeOf(image);
});
afterAll(async () => {
  await cleanup();
});

describe("shimboot flash onto a larger file", () => {
  let target: string;
  let json: Record<string, any>;
  let code: number;
  let stderr: string;
  beforeAll(async () => {
    target = await targetFile(join(dir, "usb.bin"), imageSize + 40 * MiB);
    const r = await flashCli([image, target, "--allow-file", "--yes", "--json"]);
    ({ code, stderr } = r);
    json = code === 0 ? JSON.parse(r.stdout) : {};
  });

  it("exits 0", () => {
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("writes the image's bytes, changing only the GPT's bookkeeping of the drive size", async () => {
    const img = await readFile(image);
    const out = (await readFile(target)).subarray(0, imageSize);
    const sectors = imageSize / 512;
    const differing = new Set<number>();
    for (let s = 0; s < sectors; s++) if (!img.subarray(s * 512, s * 512 + 512).equals(out.subarray(s * 512, s * 512 + 512))) differing.add(s);
    // sector 0: protective MBR size; sector 1: primary header; the image's old backup (entries + header) zeroed
    const oldBackup = Array.from({ length: 33 }, (_, i) => sectors - 33 + i);
    expect([...differing].every((s) => s <= 1 || oldBackup.includes(s))).toBe(true);
    expect(out.subarray((sectors - 33) * 512).every((b) => b === 0)).toBe(true);
    // the partition entries and every partition are byte for byte the image's
    expect(out.subarray(1024, 34 * 512).equals(img.subarray(1024, 34 * 512))).toBe(true);
  });

  it("leaves the old data beyond the image's range untouched except the new backup GPT", async () => {
    const out = await readFile(target);
    const tail = out.subarray(imageSize, out.length - 33 * 512);
    expect(tail.every((b) => b === 0xa5 || b === 0)).toBe(true);
  });

  it("puts the backup GPT header at the file's last sector, and the primary points at it", async () => {
    const last = (await sizeOf(target)) / 512 - 1;
    const primary = await gptHeaderAt(target, 1);
    const backup = await gptHeaderAt(target, last);
    expect(primary).toMatchObject({ myLba: 1n, alternateLba: BigInt(last), lastUsableLba: BigInt(last - 33) });
    expect(backup).toMatchObject({ myLba: BigInt(last), alternateLba: 1n, entriesLba: BigInt(last - 32), lastUsableLba: BigInt(last - 33) });
    const show = await $`cgpt show ${target}`;
    expect(show.stderr).toBe("");
    expect(show.stdout).not.toMatch(/INVALID/);
    expect(show.stdout).toMatch(new RegExp(`^\\s+${last}\\s+1\\s+Sec GPT header$`, "m"));
  });

  it("leaves a target that `shimboot verify` accepts", async () => {
    const r = await runCli(["verify", target]);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toMatch(/all \d+ checks passed/);
    expect(r.code).toBe(0);
  });

  it("reports in JSON what was verified, written, read back and moved", async () => {
    const digest = await sha256(image);
    expect(json).toMatchObject({
      image: { path: image, bytes: imageSize, sha256: digest },
      device: { path: target, kind: "file", bytes: imageSize + 40 * MiB },
      verify: { ran: true, ok: true },
      confirmed: "yes-flag",
      write: { bytes: imageSize },
      readback: { ran: true, ok: true, sha256: digest },
      gpt: { moved: true, fromLba: imageSize / 512 - 1, toLba: (imageSize + 40 * MiB) / 512 - 1, cgptShow: "ok" },
      rereadPartitionTable: "skipped",
    });
  });
});

describe("shimboot flash on other sizes and modes", () => {
  it("leaves the GPT as it is on a target exactly the image's size", async () => {
    const target = await targetFile(join(dir, "same.bin"), imageSize);
    const r = await flashCli([image, target, "--allow-file", "--yes", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).gpt).toMatchObject({ moved: false, toLba: imageSize / 512 - 1 });
    expect(await sha256(target)).toBe(await sha256(image));
  });

  it("skips the read-back with --no-readback and says so", async () => {
    const target = await targetFile(join(dir, "noread.bin"), imageSize + MiB);
    const r = await flashCli([image, target, "--allow-file", "--yes", "--no-readback"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("read back: skipped (--no-readback)");
  });

  it("prints a human summary naming the image, the target and the GPT move", async () => {
    const target = await targetFile(join(dir, "human.bin"), imageSize + MiB);
    const r = await flashCli([image, target, "--allow-file", "--yes"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^wrote ${image} \\(60\\.0 MiB\\) to ${target} in `));
    expect(r.stdout).toContain("read back: identical (sha256 ");
    expect(r.stdout).toContain(`to the drive's last sector ${(imageSize + MiB) / 512 - 1}; cgpt accepts the table`);
  });
});

describe("shimboot flash confirmation", () => {
  it("flashes when the device name is typed on stdin with --confirm-stdin", async () => {
    const target = await targetFile(join(dir, "typed.bin"), imageSize + MiB);
    const r = await flashCli([image, target, "--allow-file", "--confirm-stdin", "--json"], { input: "typed.bin\n" });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`shimboot: about to ERASE ${target}: regular file, 61.0 MiB`);
    expect(r.stderr).toContain("Type the device name (typed.bin) to continue");
    expect(JSON.parse(r.stdout).confirmed).toBe("typed");
  });

  it("accepts the device path as given as well as its name", async () => {
    const target = await targetFile(join(dir, "typed-path.bin"), imageSize + MiB);
    const r = await flashCli([image, target, "--allow-file", "--confirm-stdin"], { input: `${target}\n` });
    expect(r.code).toBe(0);
  });

  it("writes nothing when the typed name is not the device name", async () => {
    const target = await targetFile(join(dir, "wrong.bin"), imageSize + MiB);
    const before = await sha256(target);
    const r = await flashCli([image, target, "--allow-file", "--confirm-stdin"], { input: "sdb\n" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`shimboot: ${target}: the confirmation "sdb" is not the device name wrong.bin; nothing was written`);
    expect(await sha256(target)).toBe(before);
  });

  it("writes nothing when stdin ends before a name is typed", async () => {
    const target = await targetFile(join(dir, "eof.bin"), imageSize + MiB);
    const before = await sha256(target);
    const r = await flashCli([image, target, "--allow-file", "--confirm-stdin"], { input: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no confirmation: the input ended before a device name was typed; nothing was written");
    expect(await sha256(target)).toBe(before);
  });

  it("refuses without --yes when stdin is not a terminal", async () => {
    const target = await targetFile(join(dir, "notty.bin"), imageSize + MiB);
    const before = await sha256(target);
    const r = await flashCli([image, target, "--allow-file"], { input: "notty.bin\n" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`shimboot: ${target}: refusing to erase it without confirmation: stdin is not a terminal`);
    expect(r.stderr).toContain("hint: pass --yes to flash without asking, or --confirm-stdin");
    expect(await sha256(target)).toBe(before);
  });
});

describe("shimboot flash refusals", () => {
  it("refuses a target smaller than the image", async () => {
    const target = await targetFile(join(dir, "small.bin"), imageSize - MiB);
    const before = await sha256(target);
    const r = await flashCli([image, target, "--allow-file", "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`shimboot: ${target}: is 59.0 MiB (${imageSize - MiB} bytes), smaller than the image ${image} (60.0 MiB, ${imageSize} bytes)`);
    expect(await sha256(target)).toBe(before);
  });

  it("refuses a missing device path", async () => {
    const missing = join(dir, "no-such-disk");
    const r = await flashCli([image, missing, "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`shimboot: ${missing}: no such device`);
    await expect(stat(missing)).rejects.toThrow();
  });

  it("refuses a partition-like path that names no block device", async () => {
    const r = await flashCli([image, "/dev/sdzz1", "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("shimboot: /dev/sdzz1: no such device");
  });

  it("refuses a regular file without --allow-file", async () => {
    const target = await targetFile(join(dir, "plain.bin"), imageSize + MiB);
    const r = await flashCli([image, target, "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`shimboot: ${target}: is a regular file, not a block device`);
  });

  it("refuses a character device such as /dev/null", async () => {
    const r = await flashCli([image, "/dev/null", "--yes", "--allow-file"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("shimboot: /dev/null: is not a block device");
  });

  it("refuses to write the image onto itself", async () => {
    const copy = await copyOf(image, join(dir, "self.bin"));
    const r = await flashCli([copy, copy, "--allow-file", "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`shimboot: ${copy}: is the image itself`);
  });

  it("refuses a missing image", async () => {
    const target = await targetFile(join(dir, "for-missing.bin"), imageSize);
    const r = await flashCli([join(dir, "nope.bin"), target, "--allow-file", "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`shimboot: ${join(dir, "nope.bin")}: no such file`);
  });

  it("refuses an image that fails verify, naming the failed check, and writes nothing", async () => {
    const bad = await copyOf(image, join(dir, "bad-p3.bin"));
    // p3's ext2 superblock magic 0xEF53 is at byte 1024 + 56 of the partition
    const fh = await open(bad, "r+");
    await fh.write(Buffer.from([0x00]), 0, 1, (await cgptStart(bad, 3)) * 512 + 1024 + 56);
    await fh.close();
    const target = await targetFile(join(dir, "for-bad.bin"), imageSize + MiB);
    const before = await sha256(target);
    const r = await flashCli([bad, target, "--allow-file", "--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^shimboot: ${bad}: is not a valid shimboot image \\(\\d+ of \\d+ checks failed: .*p3.*\\); nothing was written`));
    expect(r.stderr).toContain("--no-verify");
    expect(await sha256(target)).toBe(before);
  });

  it("flashes an image that fails verify only with --no-verify, warning about it", async () => {
    const bad = await copyOf(image, join(dir, "bad-forced.bin"));
    const fh = await open(bad, "r+");
    await fh.write(Buffer.from([0x00]), 0, 1, (await cgptStart(bad, 3)) * 512 + 1024 + 56);
    await fh.close();
    const target = await targetFile(join(dir, "forced.bin"), imageSize + MiB);
    const r = await flashCli([bad, target, "--allow-file", "--yes", "--no-verify"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`shimboot: warning: --no-verify: ${bad} was not checked against the shimboot contract`);
  });
});
