// Running the field's tools (cgpt, futility, e2fsprogs, compressors). A
// missing tool is a user error that names the package to install.
import { $, type ProcessOutput } from "zx/core";
import { UserError } from "./errors.js";
import { trackChild } from "./cleanup.js";

$.quiet = true;
$.verbose = false;

const packages: Record<string, string> = {
  cgpt: "cgpt (Debian) / vboot_reference (Nix)",
  futility: "vboot-utils (Debian) / vboot_reference (Nix)",
  debugfs: "e2fsprogs",
  mke2fs: "e2fsprogs",
  e2fsck: "e2fsprogs",
  resize2fs: "e2fsprogs",
  e2image: "e2fsprogs",
  xfs_io: "xfsprogs",
  xz: "xz-utils",
  zstd: "zstd",
  lz4: "lz4",
  bzip2: "bzip2",
  fakeroot: "fakeroot",
  depmod: "kmod",
  "nix-instantiate": "nix-bin (Debian) / nix",
  "qemu-system-x86_64": "qemu-system-x86 (Debian) / qemu (Nix)",
};

const checked = new Map<string, boolean>();
let verbose = false;

/** --verbose: every tool run is echoed to stderr (arguments never hold secrets). */
export function setVerbose(on: boolean): void {
  verbose = on;
}

/** Fails with an install hint unless `tool` is on PATH. */
export async function requireTool(tool: string): Promise<void> {
  if (!checked.has(tool)) {
    const r = await $`command -v ${tool}`.nothrow();
    checked.set(tool, r.exitCode === 0);
  }
  if (!checked.get(tool)) {
    throw new UserError(tool, "required tool not found on PATH", `install ${packages[tool] ?? tool} (scripts/install-deps-debian.sh installs everything), or use the Nix package`);
  }
}

/** Runs a tool with arguments, never through a shell; the caller reads the exit code. */
export async function run(tool: string, args: (string | number)[], opts: { input?: string | Buffer; env?: Record<string, string>; cwd?: string; stderr?: "pipe" | "inherit" } = {}): Promise<ProcessOutput> {
  await requireTool(tool);
  if (verbose) process.stderr.write(`+ ${[tool, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(String(a)) ? a : JSON.stringify(String(a)))).join(" ")}\n`);
  const p = $({
    input: opts.input,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    cwd: opts.cwd,
    nothrow: true,
    ...(opts.stderr === "inherit" ? { stdio: ["pipe", "pipe", "inherit"] as ["pipe", "pipe", "inherit"] } : {}),
  })`${tool} ${args.map(String)}`;
  trackChild(p.child!);
  return p;
}

/** Like run, but a non-zero exit becomes an Error carrying stderr. */
export async function runOk(tool: string, args: (string | number)[], opts: Parameters<typeof run>[2] = {}): Promise<ProcessOutput> {
  const r = await run(tool, args, opts);
  if (r.exitCode !== 0) {
    throw new Error(`${tool} ${args.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r;
}
