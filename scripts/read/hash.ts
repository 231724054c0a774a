// SHA-256 of whole files (the shim and the recovery image, as their pins in
// nix/boards.nix name them), read 1 MiB at a time into one buffer on the
// main thread: OpenSSL's SHA-256 takes about a millisecond per slice, so the
// event loop is never held up while the build's tools run.
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { UserError } from "../lib/errors.js";

const SLICE = 1 << 20;

export async function sha256File(path: string): Promise<{ hex: string; sri: string }> {
  const h = createHash("sha256");
  try {
    const fh = await open(path, "r");
    try {
      const buf = Buffer.allocUnsafe(SLICE);
      for (let at = 0, n = 0; (n = (await fh.read(buf, 0, SLICE, at)).bytesRead) > 0; at += n) h.update(buf.subarray(0, n));
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new UserError(path, `cannot be read to hash it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "check the file and its permissions");
  }
  const hex = h.digest("hex");
  return { hex, sri: `sha256-${Buffer.from(hex, "hex").toString("base64")}` };
}
