// Where shimboot's own files are (scripts/bootloader, nix/): the directory of
// its package.json, found upward from this module, so that it is the same
// for the bundle (dist/shimboot.mjs), for tsc's modules (dist/scripts/…) and
// for the TypeScript the tests run (scripts/…).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | null | undefined;

/** The package's root directory, or null where no package.json is above the program. */
export function packageRoot(): string | null {
  if (root !== undefined) return root;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return (root = dir);
    if (dirname(dir) === dir) return (root = null);
  }
}
