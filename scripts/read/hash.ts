// SHA-256 of whole files, streamed 1 MiB at a time on the main thread:
// OpenSSL's SHA-256 (with the CPU's SHA extensions, ~1 GB/s here) takes
// about a millisecond per slice, so the event loop is never held up, and a
// multi-GB image is hashed while the build's tools (separate processes) do
// the rest. A worker thread would cost ~30 MiB of memory for nothing.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { UserError } from "../lib/errors.js";

export async function sha256File(path: string): Promise<{ hex: string; sri: string }> {
  const h = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  } catch (e) {
    throw new UserError(path, `cannot be read to hash it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "check the file and its permissions");
  }
  const hex = h.digest("hex");
  return { hex, sri: `sha256-${Buffer.from(hex, "hex").toString("base64")}` };
}
