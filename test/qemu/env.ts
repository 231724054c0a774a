// Where the QEMU boot test finds its inputs: the repository, the cache
// directory, the stand-in kernel (Debian's, in place of the shim's) and its
// modules, busybox-static.
import { existsSync, readdirSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BOOTLOADER_DIR = join(REPO_ROOT, "scripts/bootloader");
export const QEMU_DIR = join(REPO_ROOT, "test/qemu");
export const BUSYBOX = process.env.SHIMBOOT_TEST_BUSYBOX ?? "/bin/busybox";

/** Cache for built artefacts (stage-0 initramfs): $SHIMBOOT_TEST_CACHE or .cache/test (git-ignored). */
export async function cacheDir(): Promise<string> {
  const dir = process.env.SHIMBOOT_TEST_CACHE ?? join(REPO_ROOT, ".cache/test");
  await mkdir(dir, { recursive: true });
  return dir;
}

export interface TestKernel {
  version: string;
  image: string;
  modulesDir: string;
}

function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true });
}

/**
 * The kernel QEMU boots: $SHIMBOOT_TEST_KERNEL (an image) with
 * $SHIMBOOT_TEST_KVER (its version), or the newest /boot/vmlinuz-<ver> that
 * has /lib/modules/<ver>. Returns undefined when none is installed.
 */
export function findTestKernel(): TestKernel | undefined {
  const envImage = process.env.SHIMBOOT_TEST_KERNEL;
  const envVer = process.env.SHIMBOOT_TEST_KVER;
  if (envImage && envVer) {
    return { version: envVer, image: envImage, modulesDir: join("/lib/modules", envVer) };
  }
  if (!existsSync("/boot")) return undefined;
  const versions = readdirSync("/boot")
    .filter((f) => f.startsWith("vmlinuz-"))
    .map((f) => f.slice("vmlinuz-".length))
    .filter((v) => existsSync(join("/lib/modules", v, "modules.dep")))
    .sort(compareVersions);
  const version = versions.at(-1);
  if (!version) return undefined;
  return { version, image: join("/boot", `vmlinuz-${version}`), modulesDir: join("/lib/modules", version) };
}

/** Which tools the QEMU test needs; missing ones make the suite skip with a reason. */
export function missingQemuTools(): string[] {
  const need = ["qemu-system-x86_64", "cgpt", "mke2fs", "fakeroot", "cpio", "gzip"];
  const path = (process.env.PATH ?? "").split(":");
  const missing = need.filter((t) => !path.some((p) => existsSync(join(p, t))));
  if (!existsSync(BUSYBOX)) missing.push(BUSYBOX);
  if (!findTestKernel()) missing.push("a kernel in /boot with /lib/modules");
  return missing;
}
