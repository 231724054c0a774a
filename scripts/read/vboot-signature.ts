// Does a vboot kernel blob verify? futility checks the keyblock hash and the
// preamble and body signatures (the firmware's own checks). It reads a file,
// so the blob is written to a private temporary one first.
import { createHash } from "node:crypto";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../lib/exec.js";
import { toBytes } from "../lib/units.js";
import type { Partition } from "./gpt.js";
import { ImageFile } from "./image-file.js";

/** Runs futility on a blob that `write` puts into a private temporary file; null when it verifies. */
async function judge(write: (file: string) => Promise<void>): Promise<string | null> {
  const dir = await mkdtemp(join(process.env.TMPDIR || tmpdir(), "shimboot-vboot-"));
  try {
    const file = join(dir, "kernel.bin");
    await write(file);
    const r = await run("futility", ["vbutil_kernel", "--verify", file]);
    if (r.exitCode === 0) return null;
    const msg = `${r.stderr}\n${r.stdout}`.split("\n").map((l) => l.trim()).filter((l) => /error|fail|invalid|bad/i.test(l));
    return msg.join("; ") || `futility exit ${r.exitCode}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
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

const CHUNK = 1 << 20;

/** Copied out and hashed 1 MiB at a time: the partition is never held in memory whole. */
export async function partitionSignature(path: string, p: Partition): Promise<KernelSignature> {
  const img = await ImageFile.open(path);
  const h = createHash("sha256");
  try {
    const problem = await judge(async (file) => {
      const out = await open(file, "wx", 0o600);
      try {
        const total = toBytes(p.size);
        for (let off = 0; off < total; off += CHUNK) {
          const chunk = await img.read(toBytes(p.start) + off, Math.min(CHUNK, total - off));
          h.update(chunk);
          await out.write(chunk);
        }
      } finally {
        await out.close();
      }
    });
    return { sha256: h.digest("hex"), problem };
  } finally {
    await img.close();
  }
}
