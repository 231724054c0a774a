// The board table and kernel policy, as Nix defines them (nix/boards.nix,
// nix/lib/kernel-policy.nix), read from nix/board-info.json: the Nix package
// writes that file from those Nix files at build time, a source checkout
// carries a copy that the tests keep equal to them. Nothing is evaluated at
// run time; the policy for a kernel the table does not list comes from the
// same rules, compared as builtins.compareVersions compares.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import { UserError } from "./lib/errors.js";
import { packageRoot } from "./lib/package-root.js";
import { compareVersions } from "./lib/nix-version.js";

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

const PolicyRules = z.object({
  systemdCeilings: z.array(z.object({ below: z.string(), ceiling: z.number().int() })),
  systemdCeilingOtherwise: z.number().int(),
  ext2Features: z.array(z.string()),
  ext4Features: z.array(z.string()),
  ext4FeaturesFrom: z.array(z.object({ feature: z.string(), kernel: z.string() })),
  ext4FeatureSince: z.record(z.string(), z.string()),
});
export type PolicyRules = z.infer<typeof PolicyRules>;

const BoardInfoJson = z.object({ boards: z.record(z.string(), Board), policyRules: PolicyRules });
export type BoardTable = z.infer<typeof BoardInfoJson>;

const FILE = "board-info.json";

/** nix/ of the package the program belongs to. */
export function nixDir(): string {
  if (process.env.SHIMBOOT_NIX_DIR) return process.env.SHIMBOOT_NIX_DIR;
  const root = packageRoot();
  if (root && existsSync(join(root, "nix", FILE))) return join(root, "nix");
  throw new UserError(`nix/${FILE}`, "not found beside the shimboot program", "set SHIMBOOT_NIX_DIR to the repository's nix/ folder");
}

let table: BoardTable | undefined;

/** The board table and policy rules (read once). */
export function loadBoardTable(): BoardTable {
  if (table) return table;
  const path = join(nixDir(), FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UserError(path, `cannot be read: ${(e as Error).message}`, "reinstall shimboot, or run `npm run board-info` in a source checkout");
  }
  const parsed = BoardInfoJson.safeParse(raw);
  if (!parsed.success) throw new UserError(path, `is not the board table this shimboot expects: ${parsed.error.issues[0]?.message}`, "run `npm run board-info` to write it from nix/board-info.nix");
  table = parsed.data;
  return table;
}

/** kernel-policy.nix's forKernel, from its rules. */
export function policyFor(rules: PolicyRules, kernel: string): KernelPolicy {
  const atLeast = (v: string) => compareVersions(kernel, v) >= 0;
  return {
    kernel,
    systemdCeiling: rules.systemdCeilings.find((r) => !atLeast(r.below))?.ceiling ?? rules.systemdCeilingOtherwise,
    ext4Features: [...rules.ext4Features, ...rules.ext4FeaturesFrom.filter((r) => atLeast(r.kernel)).map((r) => r.feature)],
    ext2Features: rules.ext2Features,
    // builtins.attrNames order: sorted by bytes
    ext4Mountable: Object.keys(rules.ext4FeatureSince).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).filter((f) => atLeast(rules.ext4FeatureSince[f]!)),
    ext4FeatureSince: rules.ext4FeatureSince,
  };
}

/** The board table plus the policy for `kernel` (any release string). */
export async function loadBoardInfo(kernel?: string): Promise<{ boards: Record<string, BoardInfo>; policy: KernelPolicy | null }> {
  const t = loadBoardTable();
  return { boards: t.boards, policy: kernel ? policyFor(t.policyRules, kernel) : null };
}

/** ChromeOS names signed builds "<board>-signed-<keyset>": the board is the part before. */
export function boardFromRelease(releaseBoard: string): string {
  return releaseBoard.replace(/-signed-.*$/, "");
}

/** Kernel release "5.4.85-22138-g…" → "5.4.85", as the policy compares versions. */
export function kernelVersionOf(release: string): string {
  return /^(\d+\.\d+(?:\.\d+)?)/.exec(release)?.[1] ?? release;
}
