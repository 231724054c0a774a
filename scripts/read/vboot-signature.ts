// Does a vboot kernel blob verify? futility checks the keyblock hash and the
// preamble and body signatures (the firmware's own checks). It reads a file,
// so the blob is written to a private temporary one first.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../lib/exec.js";
import { makeWorkDir } from "../lib/workdir.js";

/** Runs futility on a blob that `write` puts into a private temporary file; null when it verifies. */
async function judge(write: (file: string) => Promise<void>): Promise<string | null> {
  const dir = await makeWorkDir("shimboot-vboot-");
  try {
    const file = join(dir.path, "kernel.bin");
    await write(file);
    const r = await run("futility", ["vbutil_kernel", "--verify", file]);
    if (r.exitCode === 0) return null;
    const msg = `${r.stderr}\n${r.stdout}`.split("\n").map((l) => l.trim()).filter((l) => /error|fail|invalid|bad/i.test(l));
    return msg.join("; ") || `futility exit ${r.exitCode}`;
  } finally {
    await dir.dispose();
  }
}

/** null when the blob verifies, else what futility objects to. */
export function vbootProblem(blob: Buffer): Promise<string | null> {
  return judge((file) => writeFile(file, blob, { mode: 0o600 }));
}

/** futility's verdict on an image's kernel partition, with the SHA-256 of the very bytes it judged. */
export interface KernelSignature {
  sha256: string;
  problem: string | null;
}
