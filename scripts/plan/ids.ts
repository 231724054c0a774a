// Every identifier in the image derives from the build's inputs, so the same
// inputs give the same bytes: disk and partition GUIDs, file system UUIDs and
// htree hash seeds.
import { createHash } from "node:crypto";

/** An RFC 4122 version-4-shaped UUID from a hash of (seed, purpose). */
export function derivedUuid(seed: string, purpose: string): string {
  const h = createHash("sha256").update(`${seed}\0${purpose}`).digest("hex");
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The seed: a hash of everything that determines the image. */
export function buildSeed(inputs: unknown): string {
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
}
