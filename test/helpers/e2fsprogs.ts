// An e2fsprogs whose mke2fs -d reads a tarball (>= 1.47.1), for
// nix/rootfs/make-ext4.sh: the one on PATH when it is new enough (nixpkgs'),
// else the private bookworm-backports copy test/tools/e2fsprogs-backports.sh
// unpacks (Debian 12 itself has 1.47.0).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../fixtures/fixtures.js";

export const TARBALL_MKE2FS = "1.47.1";

/** What `mke2fs -V` says it is (it prints that on stderr), or null. */
export function mke2fsVersion(mke2fs = "mke2fs"): string | null {
  const r = spawnSync(mke2fs, ["-V"], { encoding: "utf8" });
  return /^mke2fs ([\d.]+)/m.exec(`${r.stdout ?? ""}${r.stderr ?? ""}`)?.[1] ?? null;
}

const atLeast = (v: string, min: string) => {
  const a = v.split(".").map(Number);
  const b = min.split(".").map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
};

/** PATH with such an e2fsprogs first; throws, saying how to get one, when there is none. */
export function tarballE2fsprogsPath(): string {
  const v = mke2fsVersion();
  if (v && atLeast(v, TARBALL_MKE2FS)) return process.env.PATH ?? "";
  const dir = process.env.SHIMBOOT_TEST_E2FSPROGS ?? join(repoRoot, ".cache/e2fsprogs-backports/bin");
  const w = existsSync(join(dir, "mke2fs")) ? mke2fsVersion(join(dir, "mke2fs")) : null;
  if (w && atLeast(w, TARBALL_MKE2FS)) return `${dir}:${process.env.PATH ?? ""}`;
  throw new Error(`nix/rootfs/make-ext4.sh needs mke2fs >= ${TARBALL_MKE2FS} (this one is ${v ?? "missing"}): run test/tools/e2fsprogs-backports.sh (scripts/install-deps-debian.sh does), or set SHIMBOOT_TEST_E2FSPROGS to a directory holding a newer mke2fs`);
}
