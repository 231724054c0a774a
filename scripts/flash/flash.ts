// `shimboot flash`: a verified image onto a whole removable drive.
// check the image → check the drive → confirm → write every byte → read back
// → move the backup GPT to the drive's end → cgpt checks it → re-read the
// partition table. The only step of shimboot that may need root.
import { open, stat, type FileHandle } from "node:fs/promises";
import { constants } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { UserError } from "../lib/errors.js";
import { run } from "../lib/exec.js";
import { formatBytes } from "../lib/units.js";
import { verifyImage } from "../verify/verify.js";
import { accepts, readAnswer } from "./confirm.js";
import { copyAll, DEFAULT_SYNC_EVERY, progressMeter, readBack, ShortReadError } from "./copy.js";
import { GptError, relocateBackupGpt, type Relocation } from "./gpt-relocate.js";
import { checkTarget, describe, probeTarget, REAL_HOST, type Host, type Target } from "./target.js";

export interface FlashOptions {
  image: string;
  device: string;
  /** check the image against the contract first (default true) */
  verify: boolean;
  /** passed to verify: p2 must equal this shim's KERN-A */
  shim?: string | undefined;
  readback: boolean;
  yes: boolean;
  /** read the typed confirmation from stdin even when it is not a terminal */
  confirmStdin: boolean;
  forceNonRemovable: boolean;
  allowFile: boolean;
  json: boolean;
}

export interface FlashIo {
  stdin: Readable & { isTTY?: boolean };
  /** prompts, warnings, progress */
  stderr: Writable & { isTTY?: boolean };
  host: Host;
}

export interface FlashReport {
  image: { path: string; bytes: number; sha256: string };
  device: { path: string; kind: "block" | "file"; name: string; bytes: number; model: string | null; vendor: string | null; removable: boolean; usb: boolean; partitionsReplaced: string[] };
  verify: { ran: boolean; ok: boolean | null; checks: number | null };
  confirmed: "yes-flag" | "typed";
  write: { bytes: number; seconds: number; mibPerSecond: number };
  readback: { ran: boolean; ok: boolean | null; sha256: string | null; cacheDropped: boolean | null };
  gpt: Relocation & { cgptShow: "ok" };
  rereadPartitionTable: "ok" | "failed" | "skipped";
}

/** What a Ctrl-C means at each stage once the drive is open for writing. */
const INTERRUPTED: Record<"write" | "readback" | "gpt", string> = {
  write: "the drive is now partially written and will not boot; flash it again",
  readback: "the image was written but not read back, and its backup GPT is not at the drive's end yet; flash it again",
  gpt: "the backup GPT was being moved to the drive's end; flash it again",
};

/**
 * While the drive is being written, Ctrl-C cannot clean anything up: it says
 * so and exits 130 (143 for SIGTERM), ahead of cleanup.ts's handler, whose
 * exit hook still kills any child process.
 */
function guardInterrupts(device: string) {
  let stage: keyof typeof INTERRUPTED = "write";
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((sig) => {
    const h = () => {
      process.stderr.write(`\nshimboot: interrupted (${sig}) while writing ${device}: ${INTERRUPTED[stage]}\n`);
      process.exit(sig === "SIGINT" ? 130 : 143);
    };
    process.prependListener(sig, h);
    return [sig, h] as const;
  });
  return {
    stage: (s: keyof typeof INTERRUPTED) => void (stage = s),
    release: () => handlers.forEach(([sig, h]) => process.removeListener(sig, h)),
  };
}

async function imageInfo(path: string) {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(path, code === "ENOENT" ? "no such file" : `cannot read the image: ${code ?? (e as Error).message}`, "pass the image `shimboot build` wrote");
  }
  if (!st.isFile()) throw new UserError(path, "is not a regular file", "pass the image `shimboot build` wrote");
  if (st.size === 0) throw new UserError(path, "is empty", "build the image again");
  return { size: st.size, fileId: `${st.dev}:${st.ino}` };
}

function openError(t: Target, e: unknown): UserError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM") return new UserError(t.path, "permission denied: writing a drive needs root", "run it with sudo: sudo shimboot flash IMAGE DEVICE (only flash needs root)");
  if (code === "EBUSY") return new UserError(t.path, "is busy: the kernel has it in use (mounted, swap, RAID/LVM/LUKS)", "unmount every partition of the drive and retry");
  if (code === "EROFS") return new UserError(t.path, "is read-only", "is the drive's write-protect switch on?");
  if (code === "ENOMEDIUM") return new UserError(t.path, "has no medium", "insert the card or stick");
  return new UserError(t.path, `cannot open for writing: ${code ?? (e as Error).message}`);
}

function ioError(t: Target, what: string, e: unknown): UserError {
  if (e instanceof UserError) return e;
  if (e instanceof ShortReadError) {
    return e.which === "image"
      ? new UserError(null, `the image ended early at byte ${e.offset} while ${what}: it changed during the flash`, "do not modify the image while flashing; flash again")
      : new UserError(t.path, `ended at byte ${e.offset} while ${what}: the drive is smaller than it said or was unplugged`, "flash again, or use another drive");
  }
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOSPC") return new UserError(t.path, `no space left at ${what}: the drive is smaller than it claims (a counterfeit?)`, "use another drive");
  if (code === "EIO") return new UserError(t.path, `input/output error while ${what}: the drive may be failing or was unplugged; it is partially written`, "re-plug it and flash again, or use another drive");
  return new UserError(t.path, `failed while ${what}: ${code ?? (e as Error).message}; the drive is partially written`, "flash it again");
}

async function confirm(o: FlashOptions, io: FlashIo, t: Target, imageSize: number): Promise<"yes-flag" | "typed"> {
  if (o.yes) return "yes-flag";
  const lines = [
    `shimboot: about to ERASE ${t.path}${t.kind === "block" ? ` (${t.name})` : ""}: ${describe(t)}`,
    ...(t.partitions.length ? [`  its partitions ${t.partitions.join(", ")} and everything on them will be destroyed`] : [`  everything on it will be destroyed`]),
    `  it will then hold ${o.image} (${formatBytes(imageSize)})`,
    "",
  ];
  io.stderr.write(lines.join("\n"));
  const terminal = io.stdin.isTTY === true;
  const answer = await readAnswer(io.stdin, io.stderr, `Type the device name (${t.name}) to continue, anything else to stop: `, terminal);
  if (!terminal) io.stderr.write(answer === null ? "\n" : `${answer.trim().slice(0, 64)}\n`); // what was read, since nothing echoed it
  if (answer === null) throw new UserError(t.path, "no confirmation: the input ended before a device name was typed; nothing was written", `type ${t.name} at the prompt, or pass --yes`);
  if (!accepts(answer, t)) throw new UserError(t.path, `the confirmation "${answer.trim().slice(0, 64)}" is not the device name ${t.name}; nothing was written`, t.path === t.name ? `type exactly ${t.name}` : `type exactly ${t.name} (or ${t.path})`);
  return "typed";
}

export async function flash(o: FlashOptions, io: FlashIo = { stdin: process.stdin, stderr: process.stderr, host: REAL_HOST }): Promise<FlashReport> {
  // ── check, cheapest first; nothing is opened for writing ────────────
  const img = await imageInfo(o.image);
  const target = await probeTarget(o.device, { allowFile: o.allowFile }, io.host);
  await checkTarget(target, { forceNonRemovable: o.forceNonRemovable, imageSize: img.size, imagePath: o.image, imageFileId: img.fileId }, io.host);
  if (!o.yes && !o.confirmStdin && io.stdin.isTTY !== true) {
    throw new UserError(o.device, "refusing to erase it without confirmation: stdin is not a terminal, so the device name cannot be typed", "pass --yes to flash without asking, or --confirm-stdin to read the device name from stdin", 2);
  }
  let checks: number | null = null;
  if (o.verify) {
    const r = await verifyImage(o.image, o.shim ? { shim: o.shim } : {});
    checks = r.checks.length;
    const failed = r.checks.filter((c) => !c.ok);
    if (!r.ok) {
      throw new UserError(o.image, `is not a valid shimboot image (${failed.length} of ${r.checks.length} checks failed: ${failed.map((c) => c.message).join("; ")}); nothing was written`, `see \`shimboot verify ${o.image}\`; build it again, or pass --no-verify to flash it anyway (not recommended)`);
    }
  } else if (!o.json) {
    io.stderr.write(`shimboot: warning: --no-verify: ${o.image} was not checked against the shimboot contract\n`);
  }
  const confirmed = await confirm(o, io, target, img.size);

  // ── write: from here on a failure leaves the drive partially written ──
  let src: FileHandle;
  try {
    src = await open(o.image, "r");
  } catch (e) {
    throw new UserError(o.image, `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let dst: FileHandle;
  try {
    // O_EXCL on a block device: the kernel refuses if anything mounts or claims it, now or while we write
    dst = await open(o.device, constants.O_RDWR | (target.kind === "block" ? constants.O_EXCL : 0));
  } catch (e) {
    await src.close();
    throw openError(target, e);
  }
  const tty = !o.json && io.stderr.isTTY === true ? (io.stderr as NodeJS.WriteStream) : null;
  const guard = guardInterrupts(o.device);
  let report: Omit<FlashReport, "rereadPartitionTable">;
  try {
    const t0 = Date.now();
    const meter = progressMeter("writing  ", tty);
    let sha: string;
    try {
      sha = await copyAll(src, dst, img.size, { syncEvery: target.kind === "block" ? DEFAULT_SYNC_EVERY : null, progress: meter.update });
    } catch (e) {
      throw ioError(target, "writing", e);
    } finally {
      meter.done();
    }
    const seconds = (Date.now() - t0) / 1000;

    guard.stage("readback");
    let readback: FlashReport["readback"] = { ran: false, ok: null, sha256: null, cacheDropped: null };
    if (o.readback) {
      // drop the drive's page cache so the read comes from the drive itself
      const cacheDropped = target.kind === "block" ? (await run("blockdev", ["--flushbufs", o.device]).catch(() => null))?.exitCode === 0 : null;
      const rb = progressMeter("verifying", tty);
      let r;
      try {
        r = await readBack(src, dst, img.size, rb.update);
      } catch (e) {
        throw ioError(target, "reading back", e);
      } finally {
        rb.done();
      }
      if (r.mismatch) {
        throw new UserError(o.device, `reading back differs from ${o.image} at byte ${r.mismatch.offset}: the drive did not store what was written`, "the drive may be failing or counterfeit (smaller than it claims); try another drive");
      }
      readback = { ran: true, ok: true, sha256: r.sha256, cacheDropped };
    }

    guard.stage("gpt");
    let gpt: Relocation;
    try {
      gpt = await relocateBackupGpt(dst, target.size);
    } catch (e) {
      if (e instanceof GptError) throw new UserError(o.device, `cannot move the backup GPT to the end of the drive: ${e.message}`, o.verify ? "flash it again" : "the image has no valid GPT; check it with `shimboot verify`");
      throw ioError(target, "moving the backup GPT", e);
    }
    const show = await run("cgpt", ["show", "-n", o.device]);
    const bad = /INVALID/.test(show.stdout) || /invalid/i.test(show.stderr);
    if (show.exitCode !== 0 || bad) throw new UserError(o.device, `cgpt does not accept the partition table written: ${(show.stderr.trim() || show.stdout.trim()).split("\n")[0]}`, "flash it again; if it persists, please report it");

    report = {
      image: { path: o.image, bytes: img.size, sha256: sha },
      device: { path: o.device, kind: target.kind, name: target.name, bytes: target.size, model: target.model, vendor: target.vendor, removable: target.removable, usb: target.usb, partitionsReplaced: target.partitions },
      verify: { ran: o.verify, ok: o.verify ? true : null, checks },
      confirmed,
      write: { bytes: img.size, seconds, mibPerSecond: seconds > 0 ? Math.round((img.size / seconds / 1048576) * 10) / 10 : 0 },
      readback,
      gpt: { ...gpt, cgptShow: "ok" },
    };
  } finally {
    await dst.close().catch(() => {});
    await src.close().catch(() => {});
    guard.release();
  }

  // ── tell the kernel (the drive must be closed: BLKRRPART wants it unused) ──
  let reread: FlashReport["rereadPartitionTable"] = "skipped";
  if (target.kind === "block") {
    const r = await run("blockdev", ["--rereadpt", o.device]).catch(() => null);
    reread = r?.exitCode === 0 ? "ok" : "failed";
  }
  return { ...report, rereadPartitionTable: reread };
}

export function formatFlash(r: FlashReport): string {
  const lines = [
    `wrote ${r.image.path} (${formatBytes(r.image.bytes)}) to ${r.device.path} in ${r.write.seconds.toFixed(1)} s (${r.write.mibPerSecond} MiB/s)`,
    r.readback.ran ? `read back: identical (sha256 ${r.readback.sha256})` : "read back: skipped (--no-readback)",
    r.gpt.moved ? `backup GPT moved from sector ${r.gpt.fromLba} to the drive's last sector ${r.gpt.toLba}; cgpt accepts the table` : "backup GPT already at the drive's end; cgpt accepts the table",
  ];
  if (r.rereadPartitionTable === "failed") lines.push(`note: the kernel did not re-read the partition table; unplug and re-plug ${r.device.path} before using it here`);
  if (r.device.kind === "block") lines.push(`done: ${r.device.path} is ready; boot the Chromebook from it in developer or recovery mode`);
  return lines.join("\n");
}
