// The block hash of a file (SHA-256 of the SHA-256s of its 4 MiB blocks),
// computed with coreutils as the README shows: the reference our workers
// are checked against.
import { $ } from "zx";

export async function coreutilsBlockHash(file: string): Promise<string> {
  const r = await $`split -b 4194304 --filter='sha256sum | cut -c1-64' ${file} | tr a-f A-F | tr -d '\n' | basenc --base16 -d | sha256sum`.quiet();
  return r.stdout.split(" ")[0]!;
}
