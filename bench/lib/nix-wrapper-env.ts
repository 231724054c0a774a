// The environment the Nix package's wrapper gives the program (nix/package.nix,
// `--set-default NAME VALUE`), read from that file so that the bench times the
// program as Nix users run it, with nothing to keep in step by hand.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./app.js";

/** Variables the wrapper sets that change how the program runs (not where it finds its files). */
const MEASURED = ["GLIBC_TUNABLES"];

export function nixWrapperEnv(): Record<string, string> {
  const nix = readFileSync(join(repoRoot, "nix/package.nix"), "utf8");
  const env: Record<string, string> = {};
  for (const m of nix.matchAll(/--set-default (\w+) (\S+)/g)) if (MEASURED.includes(m[1]!)) env[m[1]!] = m[2]!;
  for (const name of MEASURED) if (!(name in env)) throw new Error(`nix/package.nix no longer sets ${name} in the wrapper: update bench/lib/nix-wrapper-env.ts`);
  return env;
}
