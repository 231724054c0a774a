// Where the tests keep what they build once and reuse: $SHIMBOOT_TEST_CACHE,
// or .cache/test in the repository (git-ignored). The repository is found
// from this file, whether it runs from test/ (vitest) or compiled from
// dist/test/ (npm run demo).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRepoRoot(from: string): string {
  for (let d = from; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, "package.json"))) return d;
  throw new Error(`no package.json above ${from}`);
}

export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
export const cacheRoot = process.env.SHIMBOOT_TEST_CACHE ?? join(repoRoot, ".cache", "test");
