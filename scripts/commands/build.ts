// `shimboot build`: read → plan → write → verify → rename, each step in its
// layer. Nothing is left behind on failure or Ctrl-C, and an existing --out
// is replaced only by a verified image (write/output.ts).
import { resolve } from "node:path";
import { prepareTools, setVerbose } from "../lib/exec.js";
import { makeProgress, type Progress } from "../lib/progress.js";
import { formatBytes } from "../lib/units.js";
import { makeWorkDir } from "../lib/workdir.js";
import { planBuild } from "../plan/build-plan.js";
import { makeManifest, type Manifest } from "../plan/manifest.js";
import type { Plan } from "../plan/plan.js";
import { resolveTarget, type Target } from "../plan/target.js";
import { readBuildInputs, readDrivers, type BuildInputs } from "../read/build-inputs.js";
import type { CpioEntry } from "../read/cpio.js";
import { keyfileName, nmKeyfile } from "../read/wifi.js";
import { bootloaderOverlay, MANIFEST_PATH } from "../write/bootloader-overlay.js";
import { checkDiskSpace, checkOutput, reserveTemp, writeVerifiedThenRename, type TempImage } from "../write/output.js";
import { copyRootfsImage } from "../write/rootfs-image.js";
import { copyAndHash } from "../write/block-copy.js";
import type { Bytes } from "../lib/units.js";
import { writeImage } from "../write/write-image.js";
import { verifyBuiltImage } from "../verify/built-image.js";
import type { BuildOptions } from "./build-options.js";

export interface BuildResult {
  plan: Plan;
  manifest: Manifest | null;
  out: string | null;
}

export async function build(o: BuildOptions): Promise<BuildResult> {
  if (o.verbose) setVerbose(true);
  prepareTools(); // bash starts while the inputs are checked
  const showProgress = !o.json && !o.dryRun && process.stderr.isTTY === true;
  const progress = makeProgress(showProgress);
  const outDir = await checkOutput(o.out, o.force);
  const work = await makeWorkDir();
  const tmp = o.dryRun ? null : reserveTemp(o.out, outDir);
  const copy = earlyRootfsCopy(o, outDir, tmp);
  try {
    const inputs = await readBuildInputs(o, progress, copy.start);
    try {
      const planned = await planImage(o, inputs, work.path, progress);
      if (o.dryRun) return { plan: planned.plan, manifest: await planned.manifest(), out: null };
      await checkDiskSpace(o.out, outDir, planned.plan.estimatedAllocatedBytes);
      // Wi-Fi passwords inside: owner only
      const mode = planned.plan.inject.wifiNetworks.length ? 0o600 : 0o644;
      await writeVerifiedThenRename(o.out, tmp!, mode, (t) => write(t, planned, inputs, work.path, copy.started(), progress, showProgress), (t) => verify(t, o, inputs, progress));
      progress(`done: ${o.out} (${formatBytes(planned.plan.totalBytes)})`);
      return { plan: planned.plan, manifest: await planned.manifest(), out: resolve(o.out) };
    } finally {
      await inputs.close();
    }
  } finally {
    await copy.stop(); // before its file is removed
    await tmp?.discard();
    await work.dispose();
  }
}

/**
 * An image rootfs is copied (and hashed, in the same pass) into the
 * temporary image from the moment its path is known to be a file: the bulk
 * of a build runs while the shim is read and the image planned. A build that
 * stops early (a bad input included) stops it.
 */
function earlyRootfsCopy(o: BuildOptions, outDir: string, tmp: TempImage | null) {
  let copy: Promise<string> | null = null;
  const abort = new AbortController();
  return {
    start(path: string, allocatedBytes: Bytes): Promise<string> {
      if (!tmp) return hashOnly(path); // --dry-run: the manifest still names the image
      copy = checkDiskSpace(o.out, outDir, allocatedBytes).then(() => copyRootfsImage(path, tmp.path, abort.signal));
      copy.catch(() => {}); // awaited by writeImage
      return copy;
    },
    started: () => copy,
    async stop() {
      abort.abort();
      await copy?.catch(() => {});
    },
  };
}

function hashOnly(path: string): Promise<string> {
  const p = copyAndHash(path, null, 0 as Bytes);
  p.catch(() => {}); // awaited with the manifest
  return p;
}

interface PlannedImage {
  plan: Plan;
  seed: string;
  manifest: () => Promise<Manifest>;
  target: Target;
  drivers: Awaited<ReturnType<typeof readDrivers>>;
  initramfs: CpioEntry[];
  overlay: Awaited<ReturnType<typeof bootloaderOverlay>>;
}

/** The board and kernel, the harvested drivers, the bootloader overlay, then the plan and its manifest. */
async function planImage(o: BuildOptions, inputs: BuildInputs, work: string, progress: Progress): Promise<PlannedImage> {
  const target = await resolveTarget(inputs.shim, o.shim, o.board);
  if (!target.board.known && !o.json) process.stderr.write(`shimboot: warning: board ${target.board.name} is not in the board table; using defaults for kernel ${target.version}\n`);
  progress("harvesting drivers");
  const drivers = await readDrivers(o, inputs, target.release, work);
  const initramfs = inputs.shim.kernel.initramfs.found!.entries;
  const overlay = await bootloaderOverlay(o);
  const { plan, seed, shimSha, recoverySha } = await planBuild({ o, inputs, target, drivers, initramfs, overlay });
  const manifest = makeManifest(o, inputs, target, plan, { shim: shimSha, recovery: recoverySha });
  return { plan, seed, manifest, target, drivers, initramfs, overlay };
}

function write(tmpImage: string, p: PlannedImage, inputs: BuildInputs, work: string, rootfsCopy: Promise<string> | null, progress: Progress, showProgress: boolean): Promise<void> {
  return writeImage({
    plan: p.plan,
    tmpImage,
    work,
    initramfs: p.initramfs,
    overlay: p.overlay,
    manifest: async () => ({ path: MANIFEST_PATH, content: JSON.stringify(await p.manifest(), null, 2) + "\n", mode: 0o644 }),
    driversRoot: p.drivers?.root ?? null,
    rootfsListing: inputs.rootfs.kind === "dir" ? inputs.rootfs.listing : null,
    wifiFiles: inputs.wifi.map((n) => ({ name: keyfileName(n.ssid), content: nmKeyfile(n, p.seed) })),
    progress,
    showProgress,
    rootfsCopy,
  });
}

async function verify(tmpImage: string, o: BuildOptions, inputs: BuildInputs, progress: Progress): Promise<void> {
  progress("verifying");
  // futility judged the shim's KERN-A while it was read; verify reuses the verdict for p2 of the same bytes
  const knownKernel = { sha256: await inputs.shim.kernelSha256!, info: inputs.shim.kernel, signature: inputs.shim.kernelSignature! };
  return verifyBuiltImage(tmpImage, { shim: o.shim, shimKernelPartition: inputs.shim.kernelPartition, knownKernel, rootfsImage: inputs.rootfs.kind === "image" ? inputs.rootfs.path : null });
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
    const fs = "fs" in p.content ? ` ${p.content.fs.type} [${p.content.fs.features.join(",")}]` : p.content.kind === "kernel" ? " shim KERN-A, byte for byte" : ` ext4 image ${p.content.from} [${p.content.features.join(",")}]${p.content.removeFeatures.length ? `, removing ${p.content.removeFeatures.join(",")} (the shim's kernel cannot mount them)` : ""}`;
    lines.push(`  ${p.index}  ${String(p.start).padEnd(10)} ${String(p.size).padEnd(10)} ${formatBytes(p.bytes).padEnd(10)} ${p.role.padEnd(18)} "${p.label}"${p.attributes ? ` priority=${p.attributes.priority} tries=${p.attributes.tries} successful=${p.attributes.successful}` : ""}`);
    lines.push(`     ${fs.trim()}`);
  }
  for (const c of plan.drivers.conflicts) lines.push(`  firmware conflict: ${c.path} (${c.from.join(" → ")}, last wins)`);
  return lines.join("\n");
}
