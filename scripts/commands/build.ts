// `shimboot build`: read → plan → write → verify → rename. Nothing is left
// behind on failure or Ctrl-C, and an existing --out is replaced only by a
// verified image.
import { access, constants, rename, rm, stat, statfs } from "node:fs/promises";
import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { boardFromRelease, kernelVersionOf, loadBoardInfo } from "../boards.js";
import { removeOnExit } from "../lib/cleanup.js";
import { UserError } from "../lib/errors.js";
import { setVerbose } from "../lib/exec.js";
import { makeProgress } from "../lib/progress.js";
import { formatBytes, toBytes } from "../lib/units.js";
import { makeWorkDir } from "../lib/workdir.js";
import { buildSeed } from "../plan/ids.js";
import { makePlan, type Plan } from "../plan/plan.js";
import { readChromeOsImage, readShim } from "../read/chromeos-image.js";
import { harvestDrivers } from "../read/drivers.js";
import { sha256File } from "../read/hash.js";
import { readRootfsInput } from "../read/rootfs-input.js";
import { keyfileName, nmKeyfile, readWifiCredentials } from "../read/wifi.js";
import { bootloaderConf, bootloaderContent, bootloaderFiles, type TreeFile } from "../write/bootloader-tree.js";
import { writeImage } from "../write/write-image.js";
import { verifyImage } from "../verify/verify.js";
import type { BuildOptions } from "./build-options.js";
import { VERSION } from "../version.js";

/** scripts/bootloader beside the program (dist/scripts/commands → ../../../scripts/bootloader). */
export function bootloaderSourceDir(): string {
  if (process.env.SHIMBOOT_BOOTLOADER_DIR) return process.env.SHIMBOOT_BOOTLOADER_DIR;
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ["../bootloader", "../../../scripts/bootloader"]) {
    const p = resolve(here, up);
    if (existsSync(join(p, "bin/init"))) return p;
  }
  throw new UserError("scripts/bootloader", "the bootloader scripts are not installed beside shimboot", "set SHIMBOOT_BOOTLOADER_DIR to the repository's scripts/bootloader");
}

async function checkOutput(out: string, force: boolean) {
  const dir = dirname(resolve(out));
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new UserError(out, `--out: ${dir} is not a directory`, "choose an output path in an existing directory");
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(out, `--out: the directory ${dir} does not exist`, "create it first or choose another --out");
  }
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new UserError(out, `--out: the directory ${dir} is not writable`, "choose an output path you can write to");
  }
  const existing = await stat(out).catch(() => null);
  if (existing?.isDirectory()) throw new UserError(out, "--out is a directory", "give a file name, e.g. shimboot-nixos.bin");
  if (existing && !force) throw new UserError(out, "--out already exists", "pass --force to replace it (it is replaced only after the new image is verified)");
  return dir;
}

export interface BuildResult {
  plan: Plan;
  manifest: Record<string, unknown> | null;
  out: string | null;
}

export async function build(o: BuildOptions): Promise<BuildResult> {
  if (o.verbose) setVerbose(true);
  const showProgress = !o.json && !o.dryRun && process.stderr.isTTY === true;
  const progress = makeProgress(showProgress);
  const outDir = await checkOutput(o.out, o.force);
  const work = await makeWorkDir();
  const opened: { close(): Promise<void> }[] = [];
  try {
    // ── read ──────────────────────────────────────────────────────────
    progress("reading the shim");
    const shim = await readShim(o.shim);
    opened.push(shim);
    // both hashes run in worker threads while the images are read
    const shimHash = sha256File(o.shim);
    shimHash.catch(() => {}); // awaited below
    const recoveryHash = o.recovery ? sha256File(o.recovery) : null;
    recoveryHash?.catch(() => {}); // awaited below; a read error surfaces there
    const recovery = o.recovery ? await readChromeOsImage(o.recovery) : null;
    if (recovery) {
      opened.push(recovery);
      if (!recovery.rootfs) throw new UserError(o.recovery!, `is ${recovery.kind === "shimboot" ? "a shimboot image" : "not a ChromeOS image with a readable ROOT-A"}`, "pass the unzipped official recovery image for this board");
    }
    const rootfs = await readRootfsInput(o.rootfs);
    // the image's full SHA-256 for the manifest, taken while the rest runs
    // (the copy runs in another process, on the other core)
    const rootfsSha = rootfs.kind === "image" ? sha256File(rootfs.path) : null;
    rootfsSha?.catch(() => {}); // awaited later; a read error surfaces there
    if (!rootfs.hasInit) throw new UserError(o.rootfs, "--rootfs has no /sbin/init", "a NixOS rootfs from `nix build .#rootfs-<board>` has one; a bare directory needs sbin/init");
    const wifi = o.wifi ? await readWifiCredentials(o.wifi) : [];
    if (o.firmware) {
      const st = await stat(o.firmware).catch(() => null);
      if (!st?.isDirectory()) throw new UserError(o.firmware, "--firmware is not a directory", "pass a directory of firmware files laid out like /lib/firmware");
    }

    const release = shim.kernel.release ?? shim.rootfs?.moduleReleases[0];
    if (!release) throw new UserError(o.shim, "the kernel release cannot be determined (no version in the kernel header, no lib/modules in ROOT-A)", "this shim is not supported; please report it");
    const detected = shim.rootfs?.lsbRelease.CHROMEOS_RELEASE_BOARD ? boardFromRelease(shim.rootfs.lsbRelease.CHROMEOS_RELEASE_BOARD) : null;
    if (o.board && detected && o.board !== detected) throw new UserError(o.shim, `is a shim for board ${detected}, not ${o.board}`, "drop --board or pass the right shim");
    const boardName = o.board ?? detected ?? "unknown";
    const info = await loadBoardInfo(kernelVersionOf(release));
    const known = boardName in info.boards;
    if (!known && !o.json) process.stderr.write(`shimboot: warning: board ${boardName} is not in the board table; using defaults for kernel ${kernelVersionOf(release)}\n`);

    progress("harvesting drivers");
    const drivers =
      o.drivers === "none" || !shim.rootfs
        ? null
        : await harvestDrivers({ work: work.path, shimRoot: shim.rootfs.fs, kernelRelease: release, recoveryRoot: recovery?.rootfs?.fs ?? null, extraFirmware: o.firmware ?? null });
    if (o.drivers !== "none" && !shim.rootfs) throw new UserError(o.shim, "ROOT-A is not readable, so there are no drivers to harvest", "use --drivers none");

    if (o.bootloaderDir && !existsSync(join(o.bootloaderDir, "bin/init"))) {
      throw new UserError(o.bootloaderDir, "--bootloader-dir has no bin/init", "point it at a directory laid out like scripts/bootloader (bin/init, bin/bootstrap.sh, lib/)");
    }
    const initramfs = shim.kernel.initramfs.found!.entries;
    const overlay: TreeFile[] = [
      ...(await bootloaderFiles(o.bootloaderDir ?? bootloaderSourceDir())),
      { path: "etc/shimboot/bootloader.conf", content: bootloaderConf(o.bootTimeout, o.name), mode: 0o644 },
    ];
    const manifestPlaceholder: TreeFile = { path: "shimboot/manifest.json", content: Buffer.alloc(8192), mode: 0o644 };

    // ── plan ──────────────────────────────────────────────────────────
    const shimSha = (await shimHash).hex;
    const recoverySha = recoveryHash ? (await recoveryHash).hex : null;
    const seed = buildSeed({ v: 1, shimSha, recoverySha, rootfs: rootfs.identity, o: { ...o, out: null, json: null, dryRun: null, force: null, wifi: wifi.map((n) => n.ssid) }, firmware: o.firmware ? resolve(o.firmware) : null });
    const kernPart = shim.kernelPartition;
    const plan = makePlan({
      out: resolve(o.out),
      seed,
      sourceDateEpoch: o.sourceDateEpoch,
      board: { name: boardName, known },
      kernel: { release, version: kernelVersionOf(release), arch: shim.kernel.arch, partitionPath: o.shim, offset: toBytes(kernPart.start), sectors: kernPart.size },
      policy: info.policy!,
      bootloaderContent: bootloaderContent(initramfs, [...overlay, manifestPlaceholder]),
      drivers,
      driversMode: o.drivers,
      rootfs,
      rootfsName: o.name,
      extraSpace: o.extraSpace,
      wifiNetworks: wifi.map((n) => n.ssid),
      bootTimeout: o.bootTimeout,
    });
    const manifest = {
      tool: { name: "shimboot-nixos", version: VERSION },
      flakeRevision: o.flakeRev ?? null,
      sourceDateEpoch: o.sourceDateEpoch,
      board: boardName,
      boardKnown: known,
      kernelRelease: release,
      arch: shim.kernel.arch,
      inputs: {
        shim: { file: basename(o.shim), sha256: shimSha },
        recovery: o.recovery ? { file: basename(o.recovery), sha256: recoverySha } : null,
        rootfs: rootfs.kind === "dir" ? { kind: "dir", listingSha256: rootfs.identity } : { kind: "image", sha256: null as string | null },
        firmware: o.firmware ? { dir: basename(o.firmware) } : null,
      },
      drivers: plan.drivers,
      options: { name: o.name, drivers: o.drivers, extraSpace: o.extraSpace, bootTimeout: o.bootTimeout, wifiNetworks: wifi.length },
    };
    const completeManifest = async () => {
      if (rootfsSha) manifest.inputs.rootfs = { kind: "image", sha256: (await rootfsSha).hex };
      return manifest;
    };
    if (o.dryRun) return { plan, manifest: await completeManifest(), out: null };

    // ── write ─────────────────────────────────────────────────────────
    const free = await statfs(outDir);
    const available = free.bavail * free.bsize;
    if (available < plan.estimatedAllocatedBytes) {
      throw new UserError(o.out, `not enough disk space: the image needs about ${formatBytes(plan.estimatedAllocatedBytes)}, ${outDir} has ${formatBytes(available)} free`, "free some space or choose --out on another file system");
    }
    const tmp = join(outDir, `.${basename(o.out)}.partial-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    const release_ = removeOnExit(tmp);
    try {
      await writeImage({
        plan,
        tmpImage: tmp,
        work: work.path,
        initramfs,
        overlay,
        manifest: async () => ({ path: "shimboot/manifest.json", content: JSON.stringify(await completeManifest(), null, 2) + "\n", mode: 0o644 }),
        driversRoot: drivers?.root ?? null,
        rootfsEntries: rootfs.kind === "dir" ? rootfs.entries : null,
        wifiFiles: wifi.map((n) => ({ name: keyfileName(n.ssid), content: nmKeyfile(n, seed) })),
        progress,
        showProgress,
      });
      // ── verify ────────────────────────────────────────────────────
      progress("verifying");
      const v = await verifyImage(tmp, { shim: o.shim, shimKernelPartition: shim.kernelPartition });
      if (!v.ok) {
        const failed = v.checks.filter((c) => !c.ok).map((c) => `${c.id}: ${c.message}`);
        throw new Error(`the written image failed verification (a bug in shimboot):\n  ${failed.join("\n  ")}`);
      }
      await rename(tmp, o.out);
      release_();
    } catch (e) {
      await rm(tmp, { force: true });
      release_();
      throw e;
    }
    progress(`done: ${o.out} (${formatBytes(plan.totalBytes)})`);
    return { plan, manifest, out: resolve(o.out) };
  } finally {
    for (const h of opened) await h.close().catch(() => {});
    await work.dispose();
  }
}

export function formatPlan(plan: Plan): string {
  const lines = [
    `Image ${plan.out}: ${formatBytes(plan.totalBytes)} (${plan.totalSectors} sectors), disk GUID ${plan.diskGuid}`,
    `Board ${plan.board.name}${plan.board.known ? "" : " (not in the board table)"}, kernel ${plan.kernel.release} (${plan.kernel.arch}), systemd ≤ ${plan.policy.systemdCeiling}`,
    `Drivers: ${plan.drivers.mode}${plan.drivers.moduleRelease ? `, ${plan.drivers.modules} modules for ${plan.drivers.moduleRelease}, ${plan.drivers.firmwareFiles} firmware files, ${plan.drivers.conflicts.length} conflicts` : ""}`,
    "",
    "  #  start      sectors    size       type               name",
  ];
  for (const p of plan.partitions) {
    const fs = "fs" in p.content ? ` ${p.content.fs.type} [${p.content.fs.features.join(",")}]` : p.content.kind === "kernel" ? " shim KERN-A, byte for byte" : ` ext4 image ${p.content.from}`;
    lines.push(`  ${p.index}  ${String(p.start).padEnd(10)} ${String(p.size).padEnd(10)} ${formatBytes(p.bytes).padEnd(10)} ${p.role.padEnd(18)} "${p.label}"${p.attributes ? ` priority=${p.attributes.priority} tries=${p.attributes.tries} successful=${p.attributes.successful}` : ""}`);
    lines.push(`     ${fs.trim()}`);
  }
  for (const c of plan.drivers.conflicts) lines.push(`  firmware conflict: ${c.path} (${c.from.join(" → ")}, last wins)`);
  return lines.join("\n");
}
