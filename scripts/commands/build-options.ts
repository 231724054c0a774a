// `shimboot build` options: flags, else the environment variables the old
// build scripts used, validated with zod. Conflicts and gaps are usage errors.
import * as z from "zod";
import { usageError } from "../lib/errors.js";
import { parseSize, type Bytes } from "../lib/units.js";
import { GPT_NAME_UNITS, ROOTFS_PREFIX } from "../contract.js";

/** flag name → environment variable (flags win). */
export const ENV_NAMES = {
  shim: "SHIM_FILE",
  recovery: "RECOVERY_FILE",
  rootfs: "ROOTFS_PATH",
  out: "OUTPUT_PATH",
  board: "BOARD",
  name: "ROOTFS_NAME",
  drivers: "DRIVERS",
  firmware: "FIRMWARE_DIR",
  extraSpace: "EXTRA_SPACE",
  wifi: "WIFI_CREDENTIALS",
  bootTimeout: "BOOT_TIMEOUT",
  flakeRev: "FLAKE_REV",
  bootloaderDir: "BOOTLOADER_DIR",
} as const;

const maxName = GPT_NAME_UNITS - ROOTFS_PREFIX.length;

const sizeArg = z.string().transform((s, ctx) => {
  const n = parseSize(s);
  if (n === null) {
    ctx.addIssue({ code: "custom", message: `"${s}" is not a size (examples: 512M, 2G, 1073741824)` });
    return z.NEVER;
  }
  return n;
});

export const BuildOptions = z
  .object({
    shim: z.string({ error: "--shim is required (or SHIM_FILE)" }).min(1),
    recovery: z.string().min(1).optional(),
    rootfs: z.string({ error: "--rootfs is required (or ROOTFS_PATH)" }).min(1),
    out: z.string({ error: "--out is required (or OUTPUT_PATH)" }).min(1),
    board: z.string().regex(/^[a-z0-9_-]+$/, "--board: lower-case board name such as dedede").optional(),
    name: z
      .string()
      .min(1, "--name must not be empty")
      .refine((s) => s.length <= maxName, `--name: at most ${maxName} characters (GPT names hold ${GPT_NAME_UNITS}, "${ROOTFS_PREFIX}" included)`)
      .refine((s) => !/["\\/\n\r\t|]/.test(s), "--name: no quotes, slashes, '|' or control characters")
      .refine((s) => s !== "vendor", '--name: "vendor" is reserved for the drivers partition')
      .default("nixos"),
    drivers: z.enum(["inject", "vendor", "none"], { error: "--drivers must be inject, vendor or none" }).default("inject"),
    firmware: z.string().min(1).optional(),
    extraSpace: sizeArg.default((256 * 1024 * 1024) as Bytes),
    wifi: z.string().min(1).optional(),
    bootTimeout: z.coerce.number({ error: "--boot-timeout: seconds as a whole number" }).int("--boot-timeout: whole seconds").min(0).max(3600).default(5),
    bootloaderDir: z.string().min(1).optional(),
    flakeRev: z.string().regex(/^[0-9a-f]{7,40}(-dirty)?$/, "--flake-rev: a git revision").optional(),
    dryRun: z.boolean().default(false),
    json: z.boolean().default(false),
    force: z.boolean().default(false),
    verbose: z.boolean().default(false),
    useRecovery: z.boolean().default(true),
    sourceDateEpoch: z.coerce.number().int().nonnegative().default(1),
  })
  .superRefine((o, ctx) => {
    if (o.drivers === "none" && o.firmware) ctx.addIssue({ code: "custom", message: "--firmware has no effect with --drivers none" });
    if (!o.useRecovery && o.recovery) ctx.addIssue({ code: "custom", message: "--recovery conflicts with USE_RECOVERY=false" });
  });
export type BuildOptions = z.infer<typeof BuildOptions>;

/** Merges flags over the environment, then validates. */
export function resolveBuildOptions(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): BuildOptions {
  const merged: Record<string, unknown> = {};
  for (const [key, envName] of Object.entries(ENV_NAMES)) {
    const fromFlag = flags[key];
    const fromEnv = env[envName];
    if (fromFlag !== undefined) merged[key] = fromFlag;
    else if (fromEnv !== undefined && fromEnv !== "") merged[key] = fromEnv;
  }
  for (const key of ["dryRun", "json", "force", "verbose"]) if (flags[key] !== undefined) merged[key] = flags[key];
  if (merged.verbose === undefined && env.VERBOSE !== undefined) merged.verbose = /^(1|true|yes)$/i.test(env.VERBOSE);
  if (env.USE_RECOVERY !== undefined) merged.useRecovery = !/^(0|false|no)$/i.test(env.USE_RECOVERY);
  if (env.SOURCE_DATE_EPOCH) merged.sourceDateEpoch = env.SOURCE_DATE_EPOCH;
  if (merged.useRecovery === false && flags.recovery === undefined) delete merged.recovery;
  const r = BuildOptions.safeParse(merged);
  if (!r.success) {
    throw usageError(r.error.issues.map((i) => (i.message.startsWith("--") ? i.message : `${i.path.length ? `--${String(i.path[0]).replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}: ` : ""}${i.message}`)).join("; "));
  }
  return r.data;
}
