// Small root file systems for build tests: a directory with /sbin/init, and
// the same as an ext4 image (the form Nix produces).
import { $ } from "zx";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

$.quiet = true;

export async function tempDir(prefix = "shimboot-test-"): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** A tiny Linux root: /sbin/init, /etc, a symlink, a nested directory. */
export async function makeRootfsDir(dir: string, opts: { init?: boolean; bulkBytes?: number } = {}): Promise<string> {
  await mkdir(join(dir, "sbin"), { recursive: true });
  await mkdir(join(dir, "etc"), { recursive: true });
  await mkdir(join(dir, "usr/share/doc"), { recursive: true });
  if (opts.init !== false) {
    await writeFile(join(dir, "sbin/init"), "#!/bin/sh\necho shimboot-test-init\n");
    await chmod(join(dir, "sbin/init"), 0o755);
  }
  await writeFile(join(dir, "etc/hostname"), "shimboot\n");
  await writeFile(join(dir, "etc/secret-mode"), "owner only\n");
  await chmod(join(dir, "etc/secret-mode"), 0o600);
  await symlink("../etc/hostname", join(dir, "usr/share/doc/hostname-link"));
  if (opts.bulkBytes) {
    // incompressible-looking data, written in 16 MiB files
    const chunk = 16 * 1024 * 1024;
    await mkdir(join(dir, "bulk"), { recursive: true });
    for (let i = 0; i * chunk < opts.bulkBytes; i++) {
      await $`head -c ${Math.min(chunk, opts.bulkBytes - i * chunk)} /dev/urandom > ${join(dir, "bulk", `blob-${i}`)}`;
    }
  }
  return dir;
}

/** The same tree as a reproducible ext4 image, like `nix build .#rootfs-<board>`. */
export async function makeRootfsImage(dir: string, out: string, sizeMiB = 64): Promise<string> {
  await $`rm -f ${out}`;
  await $({ env: { ...process.env, E2FSPROGS_FAKE_TIME: "1700000000" } })`mke2fs -q -F -t ext4 -L nixos -U 0d0e0f10-1112-4314-9516-171819202122 -E hash_seed=0d0e0f10-1112-4314-9516-171819202123,root_owner=0:0 -O ^orphan_file,^metadata_csum_seed -d ${dir} ${out} ${sizeMiB}M`;
  return out;
}
