#!/usr/bin/env node
// The shimboot command line: one subcommand per job, each validated with zod.
import "./lib/zod-setup.js"; // first: before any schema is made
import { Command, CommanderError } from "commander";
import * as z from "zod";
import { UserError, usageError } from "./lib/errors.js";
import { formatInspect, inspectReport } from "./commands/inspect.js";
import { build, formatPlan } from "./commands/build.js";
import { ENV_NAMES, resolveBuildOptions } from "./commands/build-options.js";
import { VERSION } from "./version.js";
import { verifyCommand } from "./commands/verify.js";
import { registerFlash } from "./commands/flash.js";
import { registerRun } from "./commands/run.js";
import { cleanUpOnSignals } from "./lib/cleanup.js";
import { EXIT_STATUS_HELP, reportInternalError } from "./lib/internal-error.js";

const program = new Command();
program
  .name("shimboot")
  .description("Turn a ChromeOS RMA shim into a bootable NixOS USB image, without root.")
  .version(VERSION)
  .showHelpAfterError()
  .addHelpText("afterAll", EXIT_STATUS_HELP)
  .exitOverride();

program
  .command("inspect")
  .description("Identify a ChromeOS image (RMA shim, recovery, shimboot) and report its partitions, kernel, initramfs and board")
  .argument("<image>", "disk image file (unzipped .bin)")
  .option("--json", "print a JSON report")
  .option("--no-hash", "skip the SHA-256 (faster on multi-GB images; no known-shim check)")
  .addHelpText("after", "\nExamples:\n  shimboot inspect dedede.bin\n  shimboot inspect --json dedede.bin | jq .kernel.release")
  .action(async (image: unknown, raw: unknown) => {
    const opts = z.object({ json: z.boolean().optional(), hash: z.boolean() }).parse(raw);
    const path = z.string().min(1).parse(image);
    const r = await inspectReport(path, { hash: opts.hash });
    process.stdout.write(opts.json ? JSON.stringify(r, null, 2) + "\n" : formatInspect(r) + "\n");
  });

program
  .command("verify")
  .description("Check a disk image against the shimboot contract, item by item (exit 1 if any item fails)")
  .argument("<image>", "a shimboot disk image")
  .option("--shim <file>", "the RMA shim it was built from: partition 2 must equal its KERN-A byte for byte")
  .option("--json", "print a JSON report")
  .action(async (image: unknown, raw: unknown) => {
    const opts = z.object({ shim: z.string().min(1).optional(), json: z.boolean().optional() }).parse(raw);
    process.exitCode = await verifyCommand(z.string().min(1).parse(image), opts);
  });

registerFlash(program);
registerRun(program);

const envHelp = Object.entries(ENV_NAMES)
  .map(([k, v]) => `  ${v.padEnd(18)} --${k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}`)
  .join("\n");

program
  .command("build")
  .description("Assemble a shimboot disk image from an RMA shim, an optional recovery image and a root file system (no root needed)")
  .option("--shim <file>", "the unzipped RMA shim .bin (required)")
  .option("--recovery <file>", "the board's unzipped recovery image: more firmware and modprobe.d")
  .option("--rootfs <dir|image>", "root file system: a directory, or an ext4 image such as `nix build .#rootfs-<board>` makes (required)")
  .option("--out <file>", "where to write the image (required); written to a temporary file and renamed when verified")
  .option("--board <name>", "board name (default: detected from the shim)")
  .option("--name <label>", 'label of the rootfs: GPT name "shimboot_rootfs:<label>" (default: nixos)')
  .option("--drivers <mode>", "inject: modules and firmware into the rootfs; vendor: a separate partition; none (default: inject)")
  .option("--firmware <dir>", "extra firmware to merge over the shim's and recovery's")
  .option("--extra-space <size>", "free space to leave in the rootfs, e.g. 512M, 2G (default: 256M)")
  .option("--wifi <file>", "wifi-credentials.json: NetworkManager connections written with mode 0600")
  .option("--boot-timeout <seconds>", "bootloader menu timeout; 0 boots the default at once (default: 5)")
  .option("--flake-rev <rev>", "flake revision to record in the image's manifest")
  .option("--bootloader-dir <dir>", "bootloader scripts to install instead of the shipped ones (bin/ and lib/ as in scripts/bootloader)")
  .option("--force", "replace --out if it exists")
  .option("--verbose", "print every tool command as it runs")
  .option("--dry-run", "print the plan and write nothing")
  .option("--json", "machine-readable output (plan and manifest)")
  .addHelpText("after", `\nEvery option can also come from the environment (flags win):\n${envHelp}\n  USE_RECOVERY=false  ignore RECOVERY_FILE\n  VERBOSE=true       --verbose\n  SOURCE_DATE_EPOCH  timestamps inside the image (default 1)\n\nExamples:\n  shimboot build --shim dedede.bin --recovery dedede-recovery.bin --rootfs ./result/nixos.img --out shimboot.bin\n  shimboot build --shim dedede.bin --rootfs ./rootfs/ --drivers vendor --dry-run`)
  .action(async (raw: Record<string, unknown>) => {
    const o = resolveBuildOptions(raw, process.env);
    const r = await build(o);
    if (o.json) process.stdout.write(JSON.stringify({ out: r.out, plan: r.plan, manifest: r.manifest }, null, 2) + "\n");
    else if (o.dryRun) process.stdout.write(formatPlan(r.plan) + "\n");
    else process.stdout.write(`${r.out}\n`);
  });

// `shimboot --help | head` closes the pipe early: that is not an error
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

export async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : 2;
    }
    const err = e instanceof z.ZodError ? usageError(e.issues.map((i) => `${i.path.join(".") || "argument"}: ${i.message}`).join("; ")) : e;
    if (err instanceof UserError) {
      process.stderr.write(`shimboot: ${err.format()}\n`);
      return err.exitCode;
    }
    return reportInternalError(err, argv, verbose);
  }
}

cleanUpOnSignals();
// an error thrown outside main's await (an event handler, a stray promise) is a bug too
const verbose = process.argv.includes("--verbose") || /^(1|true|yes)$/i.test(process.env.VERBOSE ?? "");
for (const event of ["uncaughtException", "unhandledRejection"] as const) process.on(event, (e) => process.exit(reportInternalError(e, process.argv, verbose)));
process.exitCode = await main(process.argv);
