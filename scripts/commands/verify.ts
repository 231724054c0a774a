// `shimboot verify IMAGE [--shim FILE] [--json]`: the disk image contract,
// item by item. Exit 0 when every item holds, 1 when any fails; bad input
// files throw UserError (the CLI prints it and exits 1).
import { prepareTools } from "../lib/exec.js";
import type { VerifyResult } from "../verify/check.js";
import { verifyImage } from "../verify/verify.js";

export interface VerifyCommandOptions {
  shim?: string;
  json?: boolean;
  /** where the report goes (tests capture it) */
  write?: (text: string) => void;
}

export function formatVerify(path: string, r: VerifyResult): string {
  const lines = r.checks.map((c) => `${c.ok ? "ok  " : "FAIL"} ${c.message}`);
  const failed = r.checks.filter((c) => !c.ok).length;
  lines.push(
    "",
    r.ok
      ? `${path}: all ${r.checks.length} checks passed: a valid shimboot image`
      : `${path}: ${failed} of ${r.checks.length} checks failed: not a valid shimboot image`,
  );
  return lines.join("\n");
}

export async function verifyCommand(image: string, opts: VerifyCommandOptions = {}): Promise<number> {
  const write = opts.write ?? ((t: string) => void process.stdout.write(t));
  prepareTools();
  const r = await verifyImage(image, opts.shim ? { shim: opts.shim } : {});
  write((opts.json ? JSON.stringify(r, null, 2) : formatVerify(image, r)) + "\n");
  return r.ok ? 0 : 1;
}
