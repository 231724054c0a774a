// The board table and kernel policy, read from nix/ through the Nix CLI so
// that Nix and TypeScript can never disagree (nix/board-info.nix).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { UserError } from "./lib/errors.js";
import { run } from "./lib/exec.js";
import { makeWorkDir } from "./lib/workdir.js";

const Policy = z.object({
  kernel: z.string(),
  systemdCeiling: z.number().int(),
  ext4Features: z.array(z.string()),
  ext2Features: z.array(z.string()),
  /** every ext4 feature this kernel mounts read-write (a user's image may carry these) */
  ext4Mountable: z.array(z.string()),
  /** feature → first kernel release that mounts it */
  ext4FeatureSince: z.record(z.string(), z.string()),
});
export type KernelPolicy = z.infer<typeof Policy>;

const Board = z.object({
  arch: z.enum(["x86_64", "aarch64"]),
  cpu: z.string(),
  kernel: z.string(),
  shim: z.object({ sha256: z.string().startsWith("sha256-") }),
  recovery: z.object({ url: z.string().url(), sha256: z.string().startsWith("sha256-") }),
  policy: Policy,
});
export type BoardInfo = z.infer<typeof Board>;

const BoardInfoJson = z.object({ boards: z.record(z.string(), Board), policy: Policy.nullable() });

/** nix/ beside the package: dist/scripts/.. /.. or scripts/.. */
export function nixDir(): string {
  if (process.env.SHIMBOOT_NIX_DIR) return process.env.SHIMBOOT_NIX_DIR;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, "nix", "board-info.nix"))) return join(dir, "nix");
    dir = dirname(dir);
  }
  throw new UserError("nix/board-info.nix", "not found beside the shimboot program", "set SHIMBOOT_NIX_DIR to the repository's nix/ folder");
}

const cache = new Map<string, z.infer<typeof BoardInfoJson>>();

/** The board table plus the policy for `kernel` (any release string). */
export async function loadBoardInfo(kernel?: string): Promise<z.infer<typeof BoardInfoJson>> {
  const key = kernel ?? "";
  const hit = cache.get(key);
  if (hit) return hit;
  const args = ["--eval", "--strict", "--json", "--option", "build-users-group", "", join(nixDir(), "board-info.nix")];
  // nix-instantiate only calls the file's function when given an argument
  if (kernel) args.push("--argstr", "kernel", kernel);
  else args.push("--arg", "kernel", "null");
  // Pure evaluation needs no store or daemon (dummy://), and a private HOME
  // keeps Nix from touching the user's profile (or failing on an unwritable one).
  const home = await makeWorkDir("shimboot-nix-");
  const r = await run("nix-instantiate", args, { env: { NIX_REMOTE: "dummy://", HOME: home.path, XDG_CACHE_HOME: home.path } }).finally(() => home.dispose());
  if (r.exitCode !== 0) throw new Error(`nix-instantiate board-info.nix failed: ${r.stderr.trim()}`);
  const parsed = BoardInfoJson.parse(JSON.parse(r.stdout));
  cache.set(key, parsed);
  return parsed;
}

/** ChromeOS names signed builds "<board>-signed-<keyset>": the board is the part before. */
export function boardFromRelease(releaseBoard: string): string {
  return releaseBoard.replace(/-signed-.*$/, "");
}

/** Kernel release "5.4.85-22138-g…" → "5.4.85", as the policy compares versions. */
export function kernelVersionOf(release: string): string {
  return /^(\d+\.\d+(?:\.\d+)?)/.exec(release)?.[1] ?? release;
}
