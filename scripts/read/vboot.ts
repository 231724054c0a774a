// A vboot kernel partition (vboot_reference firmware/2lib/include/2struct.h):
// keyblock, kernel preamble, then the body loaded at body_load_address. The
// body holds the kernel (x86: protected-mode code of the bzImage; arm: a FIT
// image), then the command line page, the zero page, the bootloader stub and
// (preamble ≥ 2.1) the bzImage's real-mode header.
import { UserError } from "../lib/errors.js";

const KEYBLOCK_MAGIC = "CHROMEOS";
/** x86 body layout constants from vboot_reference host/lib/include/kernel_blob.h */
const CROS_CONFIG_SIZE = 4096;
const CROS_PARAMS_SIZE = 4096;
/** where the sizes are (2struct.h): keyblock_size in the keyblock, preamble_size and body_signature.data_size in the preamble */
const KEYBLOCK_SIZE_AT = 16;
const PREAMBLE_SIZE_AT = 0;
const BODY_SIZE_AT = 72 + 16;

export const KEYBLOCK_FLAGS = {
  developerOff: 1,
  developerOn: 2,
  recoveryOff: 4,
  recoveryOn: 8,
  miniosOff: 16,
  miniosOn: 32,
} as const;

export interface VbootKernel {
  keyblock: {
    size: number;
    flags: number;
    /** the flags as futility names them */
    flagNames: string[];
    dataKeyAlgorithm: number;
    dataKeyVersion: number;
  };
  preamble: {
    size: number;
    headerVersion: string;
    kernelVersion: number;
    bodyLoadAddress: number;
    bootloaderAddress: number;
    bootloaderSize: number;
    bodySize: number;
    vmlinuzHeaderAddress: number;
    vmlinuzHeaderSize: number;
    flags: number;
  };
  /** offset of the body within the partition */
  bodyOffset: number;
  cmdline: string;
}


function flagNames(flags: number): string[] {
  const names: string[] = [];
  if (flags & KEYBLOCK_FLAGS.developerOff) names.push("!DEV");
  if (flags & KEYBLOCK_FLAGS.developerOn) names.push("DEV");
  if (flags & KEYBLOCK_FLAGS.recoveryOff) names.push("!REC");
  if (flags & KEYBLOCK_FLAGS.recoveryOn) names.push("REC");
  if (flags & KEYBLOCK_FLAGS.miniosOff) names.push("!MINIOS");
  if (flags & KEYBLOCK_FLAGS.miniosOn) names.push("MINIOS");
  return names;
}

/**
 * Parses the vboot structures of a kernel partition. `where` names the input
 * in errors (e.g. "shim.bin partition 2 (KERN-A)").
 */
export function parseVbootKernel(part: Buffer, where: string): VbootKernel {
  const bad = (what: string) => new UserError(where, what, "the kernel partition is damaged or this is not a ChromeOS image");
  // every field is a size or an address inside the partition: one past 2^53 is damage
  const u64 = (off: number, name: string): number => {
    const v = part.readBigUInt64LE(off);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`vboot ${name} ${v} is out of range`);
    return Number(v);
  };
  if (part.length < 112 || part.subarray(0, 8).toString("latin1") !== KEYBLOCK_MAGIC) {
    if (part.subarray(0, Math.min(part.length, 65536)).every((b) => b === 0)) {
      throw new UserError(where, "kernel partition is empty (all zeros)", "this image carries no kernel in that slot; pass a complete RMA shim");
    }
    throw bad("kernel partition is not a vboot kernel blob (no CHROMEOS keyblock magic)");
  }
  const kbMajor = part.readUInt32LE(8);
  if (kbMajor !== 2) throw bad(`unsupported vboot keyblock version ${kbMajor}`);
  const keyblockSize = u64(KEYBLOCK_SIZE_AT, "keyblock size");
  const keyblockFlags = u64(72, "keyblock flags");
  if (keyblockSize < 112 || keyblockSize > part.length - 112) throw bad(`keyblock size ${keyblockSize} is out of range`);
  const p = keyblockSize;
  const preambleSize = u64(p + PREAMBLE_SIZE_AT, "preamble size");
  const major = part.readUInt32LE(p + 32);
  const minor = part.readUInt32LE(p + 36);
  if (major !== 2) throw bad(`unsupported kernel preamble version ${major}.${minor}`);
  if (preambleSize < 96 || p + preambleSize > part.length) throw bad(`kernel preamble size ${preambleSize} is out of range`);
  const bodyLoadAddress = u64(p + 48, "body load address");
  const bootloaderAddress = u64(p + 56, "bootloader address");
  const bootloaderSize = u64(p + 64, "bootloader size");
  const bodySize = u64(p + BODY_SIZE_AT, "body size");
  const v21 = minor >= 1;
  // 2.1 adds the vmlinuz header fields (to byte 112), 2.2 the flags (to 116)
  if (preambleSize < (minor >= 2 ? 116 : v21 ? 112 : 96)) throw bad(`kernel preamble ${major}.${minor} is only ${preambleSize} bytes`);
  const bodyOffset = keyblockSize + preambleSize;
  if (bodyOffset + bodySize > part.length) {
    throw bad(`kernel body (${bodySize} bytes at ${bodyOffset}) runs past the end of the partition (${part.length} bytes)`);
  }
  const configOffset = bootloaderAddress - bodyLoadAddress - CROS_PARAMS_SIZE - CROS_CONFIG_SIZE;
  let cmdline = "";
  if (configOffset >= 0 && configOffset + CROS_CONFIG_SIZE <= bodySize) {
    const cfg = part.subarray(bodyOffset + configOffset, bodyOffset + configOffset + CROS_CONFIG_SIZE);
    const nul = cfg.indexOf(0);
    cmdline = cfg.subarray(0, nul < 0 ? cfg.length : nul).toString("utf8").trim();
  }
  return {
    keyblock: {
      size: keyblockSize,
      flags: keyblockFlags,
      flagNames: flagNames(keyblockFlags),
      dataKeyAlgorithm: u64(96, "data key algorithm"),
      dataKeyVersion: u64(104, "data key version"),
    },
    preamble: {
      size: preambleSize,
      headerVersion: `${major}.${minor}`,
      kernelVersion: u64(p + 40, "kernel version"),
      bodyLoadAddress,
      bootloaderAddress,
      bootloaderSize,
      bodySize,
      vmlinuzHeaderAddress: v21 ? u64(p + 96, "vmlinuz header address") : 0,
      vmlinuzHeaderSize: v21 ? u64(p + 104, "vmlinuz header size") : 0,
      flags: minor >= 2 ? part.readUInt32LE(p + 112) : 0,
    },
    bodyOffset,
    cmdline,
  };
}

/**
 * Bytes from the partition's start to the end of the kernel body
 * (keyblock + preamble + body_signature.data_size), read from the headers in
 * `head` alone; null when they are not there to read (the full parse then
 * says what is wrong). What follows the body is padding the firmware never
 * loads or checks.
 */
export function vbootBlobLength(head: Buffer): number | null {
  if (head.length < 112 || head.subarray(0, 8).toString("latin1") !== KEYBLOCK_MAGIC) return null;
  const keyblockSize = Number(head.readBigUInt64LE(KEYBLOCK_SIZE_AT));
  if (keyblockSize + BODY_SIZE_AT + 8 > head.length) return null;
  const length = keyblockSize + Number(head.readBigUInt64LE(keyblockSize + PREAMBLE_SIZE_AT)) + Number(head.readBigUInt64LE(keyblockSize + BODY_SIZE_AT));
  return Number.isSafeInteger(length) ? length : null;
}

/** The kernel image at the start of the body (x86: protected-mode code; arm: FIT). */
export function kernelBody(part: Buffer, vb: VbootKernel): Buffer {
  const end = vb.bodyOffset + (vb.preamble.bootloaderAddress - vb.preamble.bodyLoadAddress) - CROS_PARAMS_SIZE - CROS_CONFIG_SIZE;
  return part.subarray(vb.bodyOffset, Math.max(vb.bodyOffset, Math.min(end, vb.bodyOffset + vb.preamble.bodySize)));
}

/**
 * The x86 real-mode setup (the bzImage's first sectors, with the boot
 * protocol header): stored after the bootloader stub since preamble 2.1,
 * otherwise only its header survives in the zero page.
 */
export function x86SetupHeader(part: Buffer, vb: VbootKernel): Buffer {
  const { preamble: pre } = vb;
  // addresses from a damaged preamble can point anywhere: outside the partition there is no header
  const within = (at: number, size: number) => (at >= 0 && at + size <= part.length ? part.subarray(at, at + size) : Buffer.alloc(0));
  if (pre.vmlinuzHeaderSize > 0) return within(vb.bodyOffset + (pre.vmlinuzHeaderAddress - pre.bodyLoadAddress), pre.vmlinuzHeaderSize);
  return within(vb.bodyOffset + (pre.bootloaderAddress - pre.bodyLoadAddress) - CROS_PARAMS_SIZE, CROS_PARAMS_SIZE);
}
