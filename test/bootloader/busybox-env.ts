// Runs the bootloader library the way the bootloader does: under busybox ash,
// with only busybox applets on PATH (so a GNU-only option fails here too).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync, utimesSync, lutimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { hostPath } from "../helpers/host-paths.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const LIB = join(REPO_ROOT, "scripts/bootloader/lib/shimboot-lib.sh");
export const BUSYBOX = hostPath("busybox");

export interface Sandbox {
  dir: string;
  /** PATH with busybox applets only (plus `extraBin` for fakes such as cgpt). */
  bin: string;
  extraBin: string;
  cleanup(): void;
}

export function makeSandbox(): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), "shimboot-lib-"));
  const bin = join(dir, ".bb");
  const extraBin = join(dir, ".fake");
  mkdirSync(bin);
  mkdirSync(extraBin);
  const list = spawnSync(BUSYBOX, ["--list"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
  for (const a of list) symlinkSync(BUSYBOX, join(bin, a));
  return { dir, bin, extraBin, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Runs `script` after sourcing the library, in busybox sh, with the given environment. */
export function runLib(sb: Sandbox, script: string, env: Record<string, string> = {}): RunResult {
  const r = spawnSync(BUSYBOX, ["sh", "-c", `. "$SB_LIB_PATH"\n${script}`], {
    encoding: "utf8",
    cwd: sb.dir,
    env: { PATH: `${sb.extraBin}:${sb.bin}`, SB_LIB_PATH: LIB, TZ: "UTC", SB_CGPT: "cgpt", ...env },
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** Writes a file (creating parents). */
export function put(path: string, content: string | Buffer, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  if (mode !== undefined) chmodSync(path, mode);
}

export function link(path: string, target: string, mtime?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path);
  if (mtime !== undefined) lutimesSync(path, mtime, mtime);
}

export function touch(path: string, mtime: number): void {
  utimesSync(path, mtime, mtime);
}

/**
 * A fake /sys/class/block entry for a partition: `partition` holds its
 * number, `uevent` the kernel's lines (PARTNAME only when `name` is given).
 */
export function fakePartition(sysfs: string, dev: string, n: number, name?: string, extra: string[] = []): void {
  const lines = [`MAJOR=8`, `MINOR=${n}`, `DEVNAME=${dev}`, `DEVTYPE=partition`, `PARTN=${n}`];
  if (name !== undefined) lines.push(`PARTNAME=${name}`);
  put(join(sysfs, "class/block", dev, "partition"), `${n}\n`);
  put(join(sysfs, "class/block", dev, "uevent"), [...lines, ...extra].join("\n") + "\n");
}

/** A fake whole-disk entry (no `partition` file). */
export function fakeDisk(sysfs: string, dev: string): void {
  put(join(sysfs, "class/block", dev, "uevent"), `MAJOR=8\nMINOR=0\nDEVNAME=${dev}\nDEVTYPE=disk\n`);
}

/** A fake command in the sandbox's extra PATH directory. */
export function fakeCommand(sb: Sandbox, name: string, body: string): void {
  put(join(sb.extraBin, name), `#!${BUSYBOX} sh\n${body}\n`, 0o755);
}
