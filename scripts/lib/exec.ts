// Running the field's tools (cgpt, futility, e2fsprogs, compressors): spawned
// directly, never through a shell (no quoting, no shell start-up per call:
// a build runs a few dozen tools). A missing tool is a user error that names
// the package to install.
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { UserError } from "./errors.js";
import { trackChild } from "./cleanup.js";

const packages: Record<string, string> = {
  cgpt: "cgpt (Debian) / vboot_reference (Nix)",
  futility: "vboot-utils (Debian) / vboot_reference (Nix)",
  debugfs: "e2fsprogs",
  mke2fs: "e2fsprogs",
  e2fsck: "e2fsprogs",
  resize2fs: "e2fsprogs",
  e2image: "e2fsprogs",
  tune2fs: "e2fsprogs",
  xfs_io: "xfsprogs",
  xz: "xz-utils",
  zstd: "zstd",
  lz4: "lz4",
  lzop: "lzop",
  bzip2: "bzip2",
  fakeroot: "fakeroot",
  depmod: "kmod",
  "qemu-system-x86_64": "qemu-system-x86 (Debian) / qemu (Nix)",
};

/** What a finished tool run gives back. */
export interface ToolOutput {
  /** null when the tool was killed by a signal */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const located = new Map<string, string | null>();
let verbose = false;

/** --verbose: every tool run is echoed to stderr (arguments never hold secrets). */
export function setVerbose(on: boolean): void {
  verbose = on;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The tool's path on PATH (looked up once per PATH value), or null. */
function locate(tool: string): string | null {
  if (tool.includes("/")) return executable(tool) ? tool : null;
  const PATH = process.env.PATH ?? "";
  const key = `${PATH}\0${tool}`;
  const hit = located.get(key);
  if (hit !== undefined) return hit;
  const found = PATH.split(delimiter).filter((d) => d && isAbsolute(d)).map((d) => join(d, tool)).find(executable) ?? null;
  located.set(key, found);
  return found;
}

/** The tool's path; fails with an install hint unless `tool` is on PATH. */
export function requireTool(tool: string): string {
  const path = locate(tool);
  if (!path) {
    throw new UserError(tool, "required tool not found on PATH", `install ${packages[tool] ?? tool} (scripts/install-deps-debian.sh installs everything), or use the Nix package`);
  }
  return path;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string>;
  cwd?: string;
  /** "inherit": the tool draws on our terminal (progress bars) */
  stderr?: "pipe" | "inherit";
  /** kills the tool (SIGTERM) when aborted; the run then rejects */
  signal?: AbortSignal;
  /** damaged input can make a tool print without end (a file claiming terabytes): past this many bytes it is killed, the caller sees the length */
  maxStdout?: number;
}

/** Runs a tool with arguments; the caller reads the exit code. */
export function run(tool: string, args: (string | number)[], opts: RunOptions = {}): Promise<ToolOutput> {
  let path: string;
  try {
    path = requireTool(tool);
  } catch (e) {
    return Promise.reject(e);
  }
  const argv = args.map(String);
  if (verbose) process.stderr.write(`+ ${[tool, ...argv].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ")}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(path, argv, {
      // tools' output is parsed, and none of it may depend on the user's locale or zone
      env: { ...process.env, LC_ALL: "C", TZ: "UTC", ...opts.env },
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", opts.stderr === "inherit" ? "inherit" : "pipe"],
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    trackChild(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let seen = 0;
    child.stdout!.on("data", (d: Buffer) => {
      seen += d.length;
      out.push(d); // past the limit by at most one chunk, so the caller sees that it was passed
      if (opts.maxStdout !== undefined && seen > opts.maxStdout) child.kill("SIGKILL");
    });
    child.stderr?.on("data", (d: Buffer) => err.push(d));
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ exitCode: code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
    if (opts.input !== undefined) {
      child.stdin!.on("error", () => {}); // a tool that exits without reading all of it: its exit status tells
      child.stdin!.end(opts.input);
    }
  });
}

/** Like run, but a non-zero exit becomes an Error carrying stderr. */
export async function runOk(tool: string, args: (string | number)[], opts: RunOptions = {}): Promise<ToolOutput> {
  const r = await run(tool, args, opts);
  if (r.exitCode !== 0) {
    throw new Error(`${tool} ${args.join(" ")} failed (${r.exitCode === null ? `killed by ${r.signal}` : `exit ${r.exitCode}`}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r;
}
