// What shimboot adds to the shim's initramfs tree on partition 3: the
// bootloader scripts and their configuration (the manifest comes last, once
// the rootfs is written).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../lib/errors.js";
import { packageRoot } from "../lib/package-root.js";
import { bootloaderConf, bootloaderFiles, type TreeFile } from "./bootloader-tree.js";

export const MANIFEST_PATH = "shimboot/manifest.json";
/** room reserved for the manifest when partition 3 is sized */
export const MANIFEST_PLACEHOLDER: TreeFile = { path: MANIFEST_PATH, content: Buffer.alloc(8192), mode: 0o644 };

/** scripts/bootloader of the package the program belongs to. */
export function bootloaderSourceDir(): string {
  if (process.env.SHIMBOOT_BOOTLOADER_DIR) return process.env.SHIMBOOT_BOOTLOADER_DIR;
  const root = packageRoot();
  const dir = root && join(root, "scripts/bootloader");
  if (dir && existsSync(join(dir, "bin/init"))) return dir;
  throw new UserError("scripts/bootloader", "the bootloader scripts are not installed beside shimboot", "set SHIMBOOT_BOOTLOADER_DIR to the repository's scripts/bootloader");
}

export async function bootloaderOverlay(o: { bootloaderDir?: string; bootTimeout: number; name: string }): Promise<TreeFile[]> {
  return [
    ...(await bootloaderFiles(o.bootloaderDir ?? bootloaderSourceDir())),
    { path: "etc/shimboot/bootloader.conf", content: bootloaderConf(o.bootTimeout, o.name), mode: 0o644 },
  ];
}
