// `shimboot inspect IMAGE`: what the file is and everything the reader finds.
import { boardFromRelease, kernelVersionOf, loadBoardInfo } from "../boards.js";
import { ROOTFS_PREFIX, TYPE_GUID } from "../contract.js";
import { extFsAt, readExtFile } from "../read/extfs.js";
import { decodeAttributes } from "../read/gpt.js";
import { KIND_DESCRIPTION, initramfsNotables, readChromeOsImage, rootfsInventory, type ChromeOsImage } from "../read/chromeos-image.js";
import { sha256File } from "../read/hash.js";
import { prepareTools } from "../lib/exec.js";
import { formatBytes } from "../lib/units.js";

export async function inspectReport(path: string, opts: { hash: boolean }) {
  prepareTools();
  // a shim is 1–2 GB: its hash (a worker thread) runs while the image is read, and stops if that fails
  const stop = new AbortController();
  const hashing = opts.hash ? sha256File(path, undefined, stop.signal) : null;
  hashing?.catch(() => {}); // awaited in report
  try {
    const image = await readChromeOsImage(path);
    try {
      return await report(image, hashing);
    } finally {
      await image.close();
    }
  } finally {
    stop.abort(); // a no-op once report has awaited the hash
  }
}

async function report(image: ChromeOsImage, hashing: Promise<{ hex: string; sri: string }> | null) {
  const k = image.kernel;
  const search = k?.initramfs;
  const found = search?.found ?? null;
  const releaseBoard = image.rootfs?.lsbRelease.CHROMEOS_RELEASE_BOARD ?? null;
  const board = releaseBoard ? boardFromRelease(releaseBoard) : null;
  const release = k?.release ?? image.rootfs?.moduleReleases[0] ?? null;
  const info = await loadBoardInfo(release ? kernelVersionOf(release) : undefined);
  const sha256 = hashing ? await hashing : null;
  const shimboot = image.kind === "shimboot" ? await shimbootFacts(image) : null;
  const inventory = image.rootfs ? await rootfsInventory(image.rootfs) : null;
  const knownShim = sha256 ? (Object.entries(info.boards).find(([, b]) => b.shim.sha256 === sha256.sri)?.[0] ?? null) : null;
  return {
    path: image.path,
    size: image.size,
    kind: image.kind,
    description: KIND_DESCRIPTION[image.kind],
    sha256: sha256?.hex ?? null,
    knownShim: sha256 ? { known: knownShim !== null, board: knownShim } : null,
    partitions: image.table.partitions.map((p) => ({
      index: p.index,
      label: p.label,
      type: p.typeName,
      typeGuid: p.type,
      uuid: p.uuid,
      start: p.start,
      size: p.size,
      attributes: p.type === TYPE_GUID.chromeosKernel ? decodeAttributes(p.attributes) : p.attributes,
    })),
    gptWarnings: image.table.warnings,
    kernel: k && {
      partition: image.kernelPartition!.index,
      arch: k.arch,
      format: k.format,
      release: k.release,
      cmdline: k.vboot.cmdline,
      keyblock: { flags: k.vboot.keyblock.flags, flagNames: k.vboot.keyblock.flagNames, dataKeyAlgorithm: k.vboot.keyblock.dataKeyAlgorithm, dataKeyVersion: k.vboot.keyblock.dataKeyVersion },
      preamble: { headerVersion: k.vboot.preamble.headerVersion, kernelVersion: k.vboot.preamble.kernelVersion, bodySize: k.vboot.preamble.bodySize },
      payloadCompression: k.payloadCompression,
      payloadSize: k.payloadSize,
      vmlinuxSize: k.vmlinuxSize,
      initramfs: found
        ? {
            present: true as const,
            compression: found.compression,
            location: found.location,
            size: found.size,
            files: found.entries.length,
            notable: initramfsNotables(found.entries),
          }
        : { present: false as const, reason: search && !search.found ? search.reason : null, detail: search && !search.found ? search.detail : null },
    },
    rootfs: image.rootfs && {
      partition: image.rootfs.partition,
      lsbRelease: image.rootfs.lsbRelease,
      moduleReleases: image.rootfs.moduleReleases,
      firmwareFiles: inventory!.firmwareFiles,
      modprobeD: inventory!.hasModprobeD,
    },
    board: board && {
      name: board,
      releaseBoard,
      inTable: board in info.boards,
      tableKernel: info.boards[board]?.kernel ?? null,
    },
    policy: info.policy,
    shimboot,
  };
}

/** For a shimboot image: its manifest and bootloader settings from partition 3. */
async function shimbootFacts(image: ChromeOsImage) {
  const p3 = image.table.partitions.find((p) => p.index === 3 && p.type === TYPE_GUID.chromeosRootfs);
  if (!p3) return { manifest: null, bootloaderConf: null, rootfs: [] };
  const fs = extFsAt(image.path, p3.start, `${image.path} partition 3`);
  const read = (path: string) => readExtFile(fs, path).catch(() => null);
  const manifestText = await read("/shimboot/manifest.json");
  let manifest: unknown = null;
  try {
    manifest = manifestText ? JSON.parse(manifestText) : null;
  } catch {
    manifest = null;
  }
  return {
    manifest,
    bootloaderConf: await read("/etc/shimboot/bootloader.conf"),
    rootfs: image.table.partitions.filter((p) => p.label.startsWith(ROOTFS_PREFIX)).map((p) => ({ index: p.index, label: p.label.slice(ROOTFS_PREFIX.length) })),
  };
}

export type InspectReport = Awaited<ReturnType<typeof inspectReport>>;

const yes = (b: boolean) => (b ? "yes" : "no");

export function formatInspect(r: InspectReport): string {
  const lines: string[] = [];
  lines.push(`${r.path}: ${r.description}`);
  lines.push(`  size ${formatBytes(r.size)}${r.sha256 ? `, sha256 ${r.sha256}` : ""}`);
  if (r.knownShim) lines.push(`  known shim: ${r.knownShim.known ? `yes (board ${r.knownShim.board})` : "no (not in the board table; it can still be used)"}`);
  for (const w of r.gptWarnings) lines.push(`  warning: ${w}`);
  lines.push("", "Partitions:", "    #  start      size       type               label / attributes");
  for (const p of r.partitions) {
    const attrs = typeof p.attributes === "object" ? ` [priority=${p.attributes.priority} tries=${p.attributes.tries} successful=${p.attributes.successful}]` : "";
    lines.push(`  ${String(p.index).padStart(3)}  ${String(p.start).padEnd(10)} ${String(p.size).padEnd(10)} ${p.type.padEnd(18)} "${p.label}"${attrs}`);
  }
  if (r.kernel) {
    const k = r.kernel;
    lines.push("", `Kernel (partition ${k.partition}):`);
    lines.push(`  arch ${k.arch}, ${k.format}, release ${k.release ?? "unknown"}`);
    lines.push(`  vboot keyblock flags ${k.keyblock.flags} (${k.keyblock.flagNames.join(" ")}), data key algorithm ${k.keyblock.dataKeyAlgorithm} version ${k.keyblock.dataKeyVersion}`);
    lines.push(`  preamble ${k.preamble.headerVersion}, kernel version ${k.preamble.kernelVersion}`);
    lines.push(`  cmdline: ${k.cmdline}`);
    lines.push(`  payload: ${k.payloadCompression}, ${formatBytes(k.payloadSize)} → ${formatBytes(k.vmlinuxSize)}`);
    if (k.initramfs.present) {
      const n = k.initramfs.notable;
      lines.push(`  initramfs: ${k.initramfs.compression}, ${formatBytes(k.initramfs.size)}, ${k.initramfs.files} entries (found ${k.initramfs.location.method === "elf-section" ? "in section .init.ramfs" : `at offset ${k.initramfs.location.offset}${k.initramfs.location.section ? ` in ${k.initramfs.location.section}` : ""}`})`);
      lines.push(`    busybox ${yes(n.busybox)}, cgpt ${yes(n.cgpt)}, frecon-lite ${yes(n.freconLite)}, sbin -> bin ${yes(n.sbinToBin)}, usr -> . ${yes(n.usrToDot)}, bootstrap.sh ${yes(n.bootstrapSh)}`);
    } else {
      lines.push(`  initramfs: none (${k.initramfs.detail})`);
    }
  }
  if (r.rootfs) {
    lines.push("", `Root file system (partition ${r.rootfs.partition}):`);
    lines.push(`  board ${r.rootfs.lsbRelease.CHROMEOS_RELEASE_BOARD ?? "unknown"}, version ${r.rootfs.lsbRelease.CHROMEOS_RELEASE_VERSION ?? "unknown"}`);
    lines.push(`  kernel modules for: ${r.rootfs.moduleReleases.join(", ") || "none"}`);
    lines.push(`  firmware files: ${r.rootfs.firmwareFiles}; modprobe.d: lib ${yes(r.rootfs.modprobeD.lib)}, etc ${yes(r.rootfs.modprobeD.etc)}`);
  }
  if (r.board) {
    lines.push("", `Board: ${r.board.name}${r.board.inTable ? ` (in the board table, kernel ${r.board.tableKernel})` : " (not in the board table: generic, kernel-version-driven defaults)"}`);
  }
  if (r.shimboot) {
    const m = r.shimboot.manifest as { tool?: { version?: string }; board?: string; flakeRevision?: string | null; inputs?: { shim?: { sha256?: string } } } | null;
    lines.push("", "shimboot:");
    lines.push(`  root file systems: ${r.shimboot.rootfs.map((x) => `${x.label} (p${x.index})`).join(", ") || "none"}`);
    if (m) lines.push(`  built by shimboot ${m.tool?.version ?? "?"} for ${m.board ?? "?"}${m.flakeRevision ? ` at flake revision ${m.flakeRevision}` : ""}; shim sha256 ${m.inputs?.shim?.sha256 ?? "?"}`);
    else lines.push("  no readable manifest (shimboot/manifest.json on partition 3)");
    const conf = r.shimboot.bootloaderConf?.trim().split("\n").filter((l) => !l.startsWith("#")).join(", ");
    if (conf) lines.push(`  bootloader: ${conf}`);
  }
  if (r.policy) lines.push(`  for kernel ${r.policy.kernel}: systemd ≤ ${r.policy.systemdCeiling}, ext4 features ${r.policy.ext4Features.join(",")}`);
  return lines.join("\n");
}
