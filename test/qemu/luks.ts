// LUKS2 roots for the QEMU boot test: an encrypted partition image made on the
// host without device-mapper (offline `cryptsetup reencrypt --encrypt` of an
// ext4 image file), and the host's cryptsetup with its libraries as files to
// add to the bootloader partition (BuiltDiskSpec.bootloaderExtra).
import { $ } from "zx";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, truncate } from "node:fs/promises";
import { dirname, join } from "node:path";

$.quiet = true;

const MiB = 1024 * 1024;

/** The host's cryptsetup, or undefined when it is not installed. */
export function hostCryptsetup(): string | undefined {
  return ["/usr/sbin/cryptsetup", "/sbin/cryptsetup", "/usr/bin/cryptsetup"].find((p) => existsSync(p));
}

/**
 * Kernel modules dm-crypt needs on Debian's kernel (the shim's kernel has
 * them built in): device-mapper, dm-crypt, the xts and ecb templates for
 * aes-xts-plain64 (aes itself is built in), and the userspace crypto API
 * cryptsetup decrypts keyslots with.
 */
export const DM_CRYPT_MODULES = ["dm_mod", "dm_crypt", "ecb", "xts", "af_alg", "algif_skcipher", "algif_hash"];

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
  await $({ input: passphrase })`cryptsetup reencrypt --encrypt --type luks2 --batch-mode --key-file=- --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --reduce-device-size ${`${headerReserve}M`} ${out}`;
  // the encryption must have completed (no reencryption left in the header)
  const dump = (await $`cryptsetup luksDump ${out}`).stdout;
  if (!/^Version:\s+2$/m.test(dump) || /reencrypt/i.test(dump)) throw new Error(`${out} is not a finished LUKS2 container:\n${dump}`);
}

/** The dynamic libraries a binary needs (ldd), the loader excluded. */
async function libraries(binary: string): Promise<string[]> {
  const libs: string[] = [];
  for (const line of (await $`ldd ${binary}`).stdout.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

/**
 * Puts `cryptsetup` at DIR/bin/cryptsetup and its libraries under DIR/lib
 * (/lib/x86_64-linux-gnu/x.so -> lib/x86_64-linux-gnu/x.so; /usr/lib too,
 * as the shim's tree has usr -> .). The loader (/lib64/ld-linux-x86-64.so.2)
 * is not copied: the fixture shim's tree carries the host's, for its cgpt.
 */
export async function cryptsetupBundle(dir: string, cryptsetup: string): Promise<void> {
  await mkdir(join(dir, "bin"), { recursive: true });
  await copyFile(cryptsetup, join(dir, "bin/cryptsetup"));
  await chmod(join(dir, "bin/cryptsetup"), 0o755);
  for (const lib of await libraries(cryptsetup)) {
    const rel = lib.replace(/^\/usr\/lib\//, "lib/").replace(/^\/lib\//, "lib/");
    if (!rel.startsWith("lib/")) throw new Error(`library outside /lib: ${lib}`);
    await mkdir(join(dir, dirname(rel)), { recursive: true });
    await copyFile(lib, join(dir, rel));
  }
}
