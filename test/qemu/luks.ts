// LUKS2 roots for the QEMU boot test: an encrypted partition image made on the
// host without device-mapper (offline `cryptsetup reencrypt --encrypt` of an
// ext4 image file), and the host's cryptsetup with its libraries and the
// fixture kernel's dm-crypt modules as files to add to the bootloader
// partition (BuiltDiskSpec.bootloaderExtra).
import { $ } from "zx";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, rm, truncate, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { hostPath } from "../helpers/host-paths.js";
import { sharedLibraries } from "../fixtures/kernel-blob.js";

$.quiet = true;

const MiB = 1024 * 1024;

/** The host's cryptsetup (SHIMBOOT_TEST_CRYPTSETUP), or undefined when it is not installed. */
export function hostCryptsetup(): string | undefined {
  const p = hostPath("cryptsetup");
  return existsSync(p) ? p : undefined;
}

/**
 * Writes a LUKS2 container holding an ext4 made from `tree` (mke2fs -d) to
 * `out`. The data are encrypted offline in the file (`reencrypt --encrypt`
 * shifts them past the new header), so no loop or device-mapper device is
 * needed on the host. PBKDF2 with the minimum 1000 iterations keeps
 * unlocking fast under TCG.
 */
export async function makeLuksImage(out: string, tree: string, passphrase: string, fsMiB = 8): Promise<void> {
  const headerReserve = 32; // MiB: the LUKS2 header (16 MiB by default) fits in half of it
  await $`mke2fs -q -F -t ext4 -d ${tree} ${out} ${`${fsMiB * 1024}k`}`;
  await truncate(out, (fsMiB + headerReserve) * MiB);
  await $({ input: passphrase })`cryptsetup reencrypt --encrypt --type luks2 --batch-mode --disable-locks --key-file=- --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --reduce-device-size ${`${headerReserve}M`} ${out}`;
  // the encryption must have completed (no reencryption left in the header)
  const dump = (await $`cryptsetup luksDump ${out}`).stdout;
  if (!/^Version:\s+2$/m.test(dump) || /reencrypt/i.test(dump)) throw new Error(`${out} is not a finished LUKS2 container:\n${dump}`);
}

/**
 * Kernel modules cryptsetup needs that the fixture kernel has as modules
 * (with their dependencies: device-mapper, the AF_ALG socket): dm-crypt, the
 * xts and ecb templates for aes-xts-plain64 (aes is built in), and the
 * userspace crypto API it decrypts keyslots with.
 */
export const DM_CRYPT_MODULES = ["dm_crypt", "xts", "ecb", "algif_skcipher", "algif_hash"];

const BUNDLE = "lib/shimboot-test-cryptsetup";

/**
 * Files to add to the bootloader partition (under bin/ and lib/) so that its
 * `cryptsetup` works on the fixture kernel: the host's cryptsetup with every
 * library it needs and its own loader in lib/shimboot-test-cryptsetup (any
 * host layout, Debian's or Nix's), the fixture kernel's modules in
 * lib/modules/<release>, and bin/cryptsetup, a wrapper that loads
 * DM_CRYPT_MODULES with modprobe, then runs the real one.
 */
export async function cryptsetupBundle(dir: string, cryptsetup: string, modulesRoot: string, release: string): Promise<void> {
  const bundle = join(dir, BUNDLE);
  await mkdir(bundle, { recursive: true });
  await copyFile(cryptsetup, join(bundle, "cryptsetup"));
  await chmod(join(bundle, "cryptsetup"), 0o755);
  const libs = await sharedLibraries(cryptsetup);
  const loader = libs.find((l) => basename(l).startsWith("ld-linux"));
  if (!loader) throw new Error(`ldd ${cryptsetup} names no loader`);
  for (const lib of libs) await copyFile(lib, join(bundle, basename(lib)));
  await mkdir(join(dir, "lib/modules"), { recursive: true });
  await $`cp -a ${join(modulesRoot, "lib/modules", release)} ${join(dir, "lib/modules", release)}`;
  await rm(join(dir, "lib/modules", release, "build"), { force: true });
  await rm(join(dir, "lib/modules", release, "source"), { force: true });
  await mkdir(join(dir, "bin"), { recursive: true });
  await writeFile(
    join(dir, "bin/cryptsetup"),
    `#!/bin/sh
# test wrapper: dm-crypt is modular on the fixture kernel
for m in ${DM_CRYPT_MODULES.join(" ")}; do modprobe "$m" || echo "cryptsetup wrapper: modprobe $m failed" >&2; done
exec /${BUNDLE}/${basename(loader)} --library-path /${BUNDLE} /${BUNDLE}/cryptsetup "$@"
`,
    { mode: 0o755 },
  );
}
