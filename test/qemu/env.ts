// Where the QEMU boot test finds its inputs: the repository, the bootloader
// scripts, busybox-static (test/helpers/host-paths.ts), and which tools it
// needs. The kernel it boots is partition 2 of each image: the fixture
// shim's real kernel (test/kernel/build.ts).
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { hostPath, missingHostPaths } from "../helpers/host-paths.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BOOTLOADER_DIR = join(REPO_ROOT, "scripts/bootloader");
export const BUSYBOX = hostPath("busybox");

/** Which tools the QEMU test needs; missing ones make the suite skip with a reason. */
export function missingQemuTools(): string[] {
  const need = ["qemu-system-x86_64", "cgpt", "futility", "mke2fs", "fakeroot", "cpio", "gzip"];
  const path = (process.env.PATH ?? "").split(":");
  const missing = need.filter((t) => !path.some((p) => existsSync(join(p, t))));
  return [...missing, ...missingHostPaths("busybox", "linuxSource")];
}
