// Shared by the verify suites: run verifyImage and look at what failed.
import { verifyImage, type VerifyResult } from "../../scripts/verify/verify.js";

export async function verify(path: string, shim?: string): Promise<VerifyResult> {
  return verifyImage(path, shim ? { shim } : {});
}

export function failed(r: VerifyResult) {
  return r.checks.filter((c) => !c.ok);
}

export function failedIds(r: VerifyResult): string[] {
  return failed(r).map((c) => c.id);
}

/** The one failing check; the test fails unless exactly one failed. */
export function onlyFailure(r: VerifyResult) {
  const f = failed(r);
  if (f.length !== 1) throw new Error(`expected exactly one failing check, got ${f.length}:\n${f.map((c) => `  ${c.id}: ${c.message}`).join("\n")}`);
  return f[0]!;
}
