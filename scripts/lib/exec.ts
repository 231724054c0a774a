// Running the field's tools (cgpt, futility, e2fsprogs, compressors): each
// with its arguments as they are, never parsed by a shell, started by the
// fork server (launcher.ts) or, where it cannot, by node itself. A missing
// tool is a user error that names the package to install.
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { UserError } from "./errors.js";
import { trackChild } from "./cleanup.js";
import { launch, startLauncher, type LaunchRequest, type Launched } from "./launcher.js";

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
  /** "ignore": what the tool prints is not kept (returned as "") */
  stdout?: "pipe" | "ignore";
  /** kills the tool (SIGTERM) when aborted; the run then rejects */
  signal?: AbortSignal;
  /**
   * damaged input can make a tool print without end (a file claiming
   * terabytes): past this many bytes it is killed, the caller sees the
   * length. It bounds every file the tool writes: for tools that only print.
   */
  maxStdout?: number;
}

/** Runs a tool with arguments; the caller reads the exit code. */
export async function run(tool: string, args: (string | number)[], opts: RunOptions = {}): Promise<ToolOutput> {
  const path = requireTool(tool);
  const argv = args.map(String);
  if (verbose) process.stderr.write(`+ ${[tool, ...argv].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ")}\n`);
  const req: LaunchRequest = {
    path,
    argv,
    // tools' output is parsed, and none of it may depend on the user's locale or zone
    env: definedEnv({ ...process.env, LC_ALL: "C", TZ: "UTC", ...opts.env }),
    cwd: opts.cwd ?? process.cwd(),
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    captureStderr: opts.stderr !== "inherit",
    captureStdout: opts.stdout !== "ignore",
    ...(opts.maxStdout !== undefined ? { maxFileBytes: opts.maxStdout } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const r = await (launch(req, locate, spawnDirect) ?? spawnDirect(req));
  return { exitCode: r.exitCode, signal: r.signal, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Starts what runs the tools now, ahead of the first one (a command that will run tools calls it first). */
export function prepareTools(): void {
  startLauncher(locate, spawnDirect);
}

/** node's own spawn, where the fork server cannot run a tool (launcher.ts). */
function spawnDirect(req: LaunchRequest): Promise<Launched> {
  return new Promise((resolve, reject) => {
    const child = spawn(req.path, req.argv, {
      env: req.env,
      cwd: req.cwd,
      stdio: [req.input === undefined ? "ignore" : "pipe", req.captureStdout ? "pipe" : "ignore", req.captureStderr ? "pipe" : "inherit"],
      ...(req.signal ? { signal: req.signal } : {}),
    });
    trackChild(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let seen = 0;
    child.stdout?.on("data", (d: Buffer) => {
      seen += d.length;
      out.push(d); // past the limit by at most one chunk, so the caller sees that it was passed
      if (req.maxFileBytes !== undefined && seen > req.maxFileBytes) child.kill("SIGKILL");
    });
    child.stderr?.on("data", (d: Buffer) => err.push(d));
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ exitCode: code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
    if (req.input !== undefined) {
      child.stdin!.on("error", () => {}); // a tool that exits without reading all of it: its exit status tells
      child.stdin!.end(req.input);
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
