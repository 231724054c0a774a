// shimboot/manifest.json on the bootloader partition: what built the image
// from which inputs. Only the fields verify relies on are required; anything
// else the builder records passes through.
import * as z from "zod";

const nonEmpty = z.string().min(1);

export const Manifest = z.looseObject({
  tool: z.looseObject({ name: nonEmpty, version: nonEmpty }),
  inputs: z.looseObject({ shim: z.looseObject({ sha256: nonEmpty }) }),
  kernelRelease: nonEmpty,
  board: nonEmpty,
});
export type Manifest = z.infer<typeof Manifest>;

/** The manifest, or a one-line reason it is not one. */
export function parseManifest(text: string): { ok: true; manifest: Manifest } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not valid JSON (${(e as Error).message})` };
  }
  const r = Manifest.safeParse(json);
  if (r.success) return { ok: true, manifest: r.data };
  return { ok: false, error: r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ") };
}
