#!/usr/bin/env node
// The shimboot command line: one subcommand per job, each validated with zod.
import { Command, CommanderError } from "commander";
import { z } from "zod";
import { UserError, usageError } from "./lib/errors.js";
import { formatInspect, inspectReport } from "./commands/inspect.js";

const program = new Command();
program
  .name("shimboot")
  .description("Turn a ChromeOS RMA shim into a bootable NixOS USB image, without root.")
  .version("0.1.0")
  .showHelpAfterError()
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

export async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : 2;
    }
    const err = e instanceof z.ZodError ? usageError(e.issues.map((i) => `${i.path.join(".") || "argument"}: ${i.message}`).join("; ")) : e;
    if (err instanceof UserError) {
      process.stderr.write(`shimboot: ${err.format()}\n`);
      return err.exitCode;
    }
    process.stderr.write(`shimboot: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return 70;
  }
}

process.exitCode = await main(process.argv);
