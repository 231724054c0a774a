// The shim's and the recovery image's SHA-256: the same digest sha256sum
// gives, whether the file is hashed on the main thread or in a worker.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { chmod, mkdir, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { UserError } from "../../scripts/lib/errors.js";
import { sha256File } from "../../scripts/read/hash.js";
import { tempDir } from "../helpers/rootfs.js";

$.quiet = true;
let t: Awaited<ReturnType<typeof tempDir>>;
let file: string;
beforeAll(async () => {
  t = await tempDir();
  file = join(t.path, "image.bin");
  await writeFile(file, Buffer.from("a shim, more or less\n".repeat(200_000)));
  await truncate(file, 9 * 1024 * 1024 + 5); // a hole to the end, no multiple of the slice
});
afterAll(() => t.cleanup());

const sha256sum = async (f: string) => (await $`sha256sum ${f}`).stdout.split(" ")[0];

describe("hashing an input image", () => {
  it("gives sha256sum's digest on the main thread", async () => {
    expect((await sha256File(file)).hex).toBe(await sha256sum(file));
  });

  it("gives the same digest in a worker thread (large files)", async () => {
    expect((await sha256File(file, 0)).hex).toBe(await sha256sum(file));
  });

  it("gives the digest as an SRI hash too, as nix/boards.nix pins it", async () => {
    const { hex, sri } = await sha256File(file);
    expect(sri).toBe(`sha256-${Buffer.from(hex, "hex").toString("base64")}`);
  });

  it("says which file cannot be read, on either thread", async () => {
    const dir = join(t.path, "a-directory.bin");
    await mkdir(dir);
    const failure = (p: string, from?: number) => sha256File(p, from).then(() => "", (e: UserError) => e.format());
    for (const from of [Infinity, 0]) expect(await failure(dir, from)).toMatch(/a-directory\.bin: cannot be read to hash it \(EISDIR\)/);
    expect(await failure(join(t.path, "missing.bin"))).toMatch(/missing\.bin: cannot be read to hash it \(ENOENT\)/);
  });

  it("stops when its signal is aborted, on either thread (a build that failed does not wait for it)", async () => {
    const big = join(t.path, "big.bin");
    await writeFile(big, "");
    await truncate(big, 4 * 1024 ** 3); // holes: seconds of hashing, no disk
    for (const from of [Infinity, 0]) {
      const stop = new AbortController();
      const hashing = sha256File(big, from, stop.signal);
      setTimeout(() => stop.abort(), 50);
      await expect(hashing).rejects.toMatchObject({ name: "AbortError" });
    }
  });

  it("does not start once its signal is aborted", async () => {
    for (const from of [Infinity, 0]) await expect(sha256File(file, from, AbortSignal.abort())).rejects.toMatchObject({ name: "AbortError" });
  });

  it.skipIf(process.getuid?.() === 0)("says so when the file is not readable", async () => {
    const locked = join(t.path, "locked.bin");
    await writeFile(locked, "x");
    await chmod(locked, 0o000);
    await expect(sha256File(locked, 0)).rejects.toThrow(/EACCES/);
  });
});
