// Builds an image with the CLI, as a user would, into a test directory.
import { join } from "node:path";
import { fixture, type FixtureName } from "../fixtures/fixtures.js";
import { runCli, type CliResult } from "./cli.js";

export async function buildImage(
  dir: string,
  opts: { shim?: FixtureName; recovery?: FixtureName | null; rootfs: string; out?: string; args?: string[]; env?: Record<string, string> },
): Promise<CliResult & { out: string }> {
  const out = opts.out ?? join(dir, "shimboot.bin");
  const args = ["build", "--shim", await fixture(opts.shim ?? "shim-x86"), "--rootfs", opts.rootfs, "--out", out, "--extra-space", "8M", "--json"];
  if (opts.recovery !== null) args.push("--recovery", await fixture(opts.recovery ?? "recovery-x86"));
  args.push(...(opts.args ?? []));
  const r = await runCli(args, { env: { TMPDIR: dir, ...opts.env } });
  return { ...r, out };
}
