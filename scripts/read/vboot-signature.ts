// Does a vboot kernel blob verify? futility checks the keyblock hash and the
// preamble and body signatures (the firmware's own checks). It reads a file,
// so the blob is written to a private temporary one first.
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../lib/exec.js";
import { toBytes } from "../lib/units.js";
import type { Partition } from "./gpt.js";
import { ImageFile } from "./image-file.js";

/** null when the blob verifies, else what futility objects to. */
export async function vbootProblem(blob: Buffer): Promise<string | null> {
  const dir = await mkdtemp(join(process.env.TMPDIR || tmpdir(), "shimboot-vboot-"));
  try {
    const file = join(dir, "kernel.bin");
    await writeFile(file, blob, { mode: 0o600 });
    const r = await run("futility", ["vbutil_kernel", "--verify", file]);
    if (r.exitCode === 0) return null;
    const msg = `${r.stderr}\n${r.stdout}`.split("\n").map((l) => l.trim()).filter((l) => /error|fail|invalid|bad/i.test(l));
    return msg.join("; ") || `futility exit ${r.exitCode}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** futility's verdict on an image's kernel partition, with the SHA-256 of the very bytes it judged. */
export interface KernelSignature {
  sha256: string;
  problem: string | null;
}

export async function partitionSignature(path: string, p: Partition): Promise<KernelSignature> {
  const img = await ImageFile.open(path);
  try {
    const blob = await img.read(toBytes(p.start), toBytes(p.size));
    return { sha256: createHash("sha256").update(blob).digest("hex"), problem: await vbootProblem(blob) };
  } finally {
    await img.close();
  }
}
