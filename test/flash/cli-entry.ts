// The `shimboot` CLI's error handling around registerFlash alone: the tests
// run this when dist/scripts/cli.js does not register `flash` (yet).
import { Command, CommanderError } from "commander";
import { z } from "zod";
import { registerFlash } from "../../scripts/commands/flash.js";
import { UserError, usageError } from "../../scripts/lib/errors.js";

const program = new Command().name("shimboot").showHelpAfterError().exitOverride();
registerFlash(program);

async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
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
