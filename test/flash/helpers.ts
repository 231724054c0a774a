// Shared by the flash tests: one built image per suite, target files, the
// CLI to run, and an independent reading of GPT headers (not the code under test).
import { spawn, type ChildProcess } from "node:child_process";
import { copyFile, open, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { $ } from "zx";
import { repoRoot } from "../fixtures/fixtures.js";
import { buildImage } from "../helpers/build.js";
import { CLI, type CliResult } from "../helpers/cli.js";
import { makeRootfsDir } from "../helpers/rootfs.js";

$.quiet = true;

/** `shimboot flash ARGS`, as a user runs it, with stdin a pipe carrying `input` (never a terminal). */
export async function flashCli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return (await spawnFlash(args, opts)).done;
}

/** Like flashCli, with the running process at hand (to signal it). */
export async function spawnFlash(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<{ child: ChildProcess; done: Promise<CliResult> }> {
  const child = spawn(process.execPath, [CLI, "flash", ...args], { env: { ...process.env, ...opts.env }, cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
  const done = new Promise<CliResult>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c) => (stdout += c));
    child.stderr!.on("data", (c) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? -1 : -2), stdout, stderr }));
  });
  child.stdin!.end(opts.input ?? "");
  return { child, done };
}

/** Builds an image with `shimboot build` (the brief's way: shim and a rootfs dir with sbin/init). */
export async function builtImage(dir: string): Promise<string> {
  const rootfs = await makeRootfsDir(join(dir, "rootfs"));
  const r = await buildImage(dir, { rootfs, recovery: null, out: join(dir, "image.bin") });
  if (r.code !== 0) throw new Error(`shimboot build failed (${r.code}): ${r.stderr}`);
  return r.out;
}

/** A target file of `bytes`, filled with a pattern so stale data would show. */
export async function targetFile(path: string, bytes: number): Promise<string> {
  await writeFile(path, "");
  await truncate(path, bytes);
  const fh = await open(path, "r+");
  const junk = Buffer.alloc(1 << 20, 0xa5);
  for (let off = 0; off < bytes; off += 16 << 20) await fh.write(junk, 0, Math.min(junk.length, bytes - off), off);
  await fh.close();
  return path;
}

export async function copyOf(src: string, dst: string): Promise<string> {
  await copyFile(src, dst);
  return dst;
}

export async function sizeOf(path: string): Promise<number> {
  return (await stat(path)).size;
}

export async function sha256(path: string): Promise<string> {
  return (await $`sha256sum ${path}`).stdout.split(" ")[0]!;
}

export interface GptHeader {
  myLba: bigint;
  alternateLba: bigint;
  firstUsableLba: bigint;
  lastUsableLba: bigint;
  entriesLba: bigint;
}

/** Reads a GPT header at `lba` by the UEFI layout (signature checked, CRC not). */
export async function gptHeaderAt(path: string, lba: number): Promise<GptHeader | null> {
  const fh = await open(path, "r");
  const buf = Buffer.alloc(92);
  await fh.read(buf, 0, 92, lba * 512).finally(() => fh.close());
  if (buf.toString("latin1", 0, 8) !== "EFI PART") return null;
  return {
    myLba: buf.readBigUInt64LE(24),
    alternateLba: buf.readBigUInt64LE(32),
    firstUsableLba: buf.readBigUInt64LE(40),
    lastUsableLba: buf.readBigUInt64LE(48),
    entriesLba: buf.readBigUInt64LE(72),
  };
}

export async function cgptStart(path: string, index: number): Promise<number> {
  return Number((await $`cgpt show -i ${index} -b ${path}`).stdout);
}
