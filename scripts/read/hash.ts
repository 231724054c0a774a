// SHA-256 of a whole file, streamed (images are gigabytes).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export async function sha256File(path: string): Promise<{ hex: string; sri: string }> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) h.update(chunk as Buffer);
  const digest = h.digest();
  return { hex: digest.toString("hex"), sri: `sha256-${digest.toString("base64")}` };
}
