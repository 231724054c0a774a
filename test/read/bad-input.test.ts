// Every bad input ends in one clear line that names the file and the problem,
// a non-zero exit and no output on stdout.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { copyFile, mkdtemp, rm, truncate, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture } from "../fixtures/fixtures.js";
import { overwrite } from "../fixtures/chromeos-disk.js";
import { runCli } from "../helpers/cli.js";
import { readShim } from "../../scripts/read/chromeos-image.js";
import { UserError } from "../../scripts/lib/errors.js";

$.quiet = true;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shimboot-bad-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function partitionStart(img: string, index: number) {
  return Number((await $`cgpt show -i ${index} -b ${img}`).stdout) * 512;
}

/** A copy of the x86 shim to damage. */
async function shimCopy(name: string) {
  const p = join(dir, name);
  await copyFile(await fixture("shim-x86"), p);
  return p;
}

async function expectInspectError(file: string, message: RegExp) {
  const r = await runCli(["inspect", "--no-hash", file]);
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe("");
  const first = r.stderr.split("\n")[0]!;
  expect(first).toContain(file);
  expect(first).toMatch(message);
  expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
}

async function expectShimError(file: string, message: RegExp) {
  const err = await readShim(file).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  expect((err as UserError).format()).toContain(file);
  expect((err as UserError).message).toMatch(message);
}

describe("bad input to the reader", () => {
  it("a missing file is named as missing", async () => {
    await expectInspectError(join(dir, "nope.bin"), /no such file/);
  });

  it("a directory is refused as not a disk image", async () => {
    const d = join(dir, "adir");
    await mkdir(d);
    await expectInspectError(d, /is a directory/);
  });

  it("an empty file is refused as empty", async () => {
    const f = join(dir, "empty.bin");
    await writeFile(f, "");
    await expectInspectError(f, /is empty/);
  });

  it("a tiny file is refused as too small", async () => {
    const f = join(dir, "tiny.bin");
    await writeFile(f, Buffer.alloc(4096, 1));
    await expectInspectError(f, /too small/);
  });

  it("a zip of a shim asks the user to unzip it first", async () => {
    const f = join(dir, "shim.zip");
    await $`python3 -m zipfile -c ${f} ${await fixture("shim-x86")}`;
    const r = await runCli(["inspect", f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/zip archive/);
    expect(r.stderr).toMatch(/unzip it first/);
  });

  it("a file without a GPT is not a ChromeOS disk image", async () => {
    const f = join(dir, "zeros.bin");
    await writeFile(f, Buffer.alloc(1024 * 1024));
    await expectInspectError(f, /no GPT/);
  });

  it("a GPT whose both headers are corrupt is reported as corrupt", async () => {
    const f = await shimCopy("corrupt-gpt.bin");
    await overwrite(f, 512 + 16, Buffer.from("XXXX")); // primary header CRC field
    const size = Number((await $`stat -c %s ${f}`).stdout);
    await overwrite(f, size - 512 + 16, Buffer.from("XXXX"));
    await expectInspectError(f, /GPT headers are corrupt/);
  });

  it("a GPT with one damaged copy is read from the other, with a warning", async () => {
    const f = await shimCopy("one-gpt.bin");
    await overwrite(f, 512 + 16, Buffer.from("XXXX"));
    const r = await runCli(["inspect", "--json", "--no-hash", f]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).gptWarnings.join(" ")).toMatch(/Primary GPT header is invalid/);
  });

  it("an empty KERN-A is named as empty", async () => {
    const f = await shimCopy("empty-kern.bin");
    await overwrite(f, await partitionStart(f, 2), Buffer.alloc(16 * 1024 * 1024));
    await expectInspectError(f, /partition 2 \(KERN-A\): kernel partition is empty/);
  });

  it("a KERN-A that is not a vboot blob is named as such", async () => {
    const f = await shimCopy("junk-kern.bin");
    await overwrite(f, await partitionStart(f, 2), Buffer.alloc(4096, 0xa5));
    await expectInspectError(f, /not a vboot kernel blob/);
  });

  it("a recovery image passed as a shim is recognised and named", async () => {
    await expectShimError(await fixture("recovery-x86"), /no built-in initramfs.*recovery image/);
  });

  it("a corrupt initramfs stream is reported as corrupt, not as missing", async () => {
    await expectInspectError(await fixture("bad-shim-corrupt-initramfs"), /initramfs is corrupt: xz/);
  });

  it("a corrupt kernel payload is reported with its compression", async () => {
    const f = await shimCopy("corrupt-payload.bin");
    // the gzip payload starts after the 64 KiB of keyblock+preamble and the 0x3c0-byte stub
    await overwrite(f, (await partitionStart(f, 2)) + 0x10000 + 0x3c0 + 2000, Buffer.alloc(64, 0x42));
    await expectInspectError(f, /kernel payload: gzip stream is corrupt/);
  });

  it("a truncated image names the partition that runs past its end", async () => {
    const f = await shimCopy("truncated.bin");
    await truncate(f, (await partitionStart(f, 3)) + 4096 * 512);
    await expectInspectError(f, /truncated/);
  });

  it("an image cut mid-sector is reported as truncated", async () => {
    const f = await shimCopy("cut.bin");
    await truncate(f, 10_000_001);
    await expectInspectError(f, /truncated/);
  });
});
