// The x86 boot protocol header (Documentation/arch/x86/boot.rst): where the
// compressed vmlinux lies inside the protected-mode code, exactly.
import { UserError } from "../lib/errors.js";

export interface BzImageHeader {
  protocol: string;
  setupSects: number;
  /** the payload inside the protected-mode code */
  payloadOffset: number;
  payloadLength: number;
  /** the kernel_version string, when the setup code is present */
  kernelVersion: string | null;
}

export function parseBzImageHeader(setup: Buffer, where: string): BzImageHeader {
  if (setup.length < 0x250 || setup.toString("latin1", 0x202, 0x206) !== "HdrS") {
    throw new UserError(where, "kernel is not an x86 bzImage (no HdrS boot header)", "this is not an x86 ChromeOS kernel");
  }
  const protocol = setup.readUInt16LE(0x206);
  if (protocol < 0x208) {
    throw new UserError(where, `x86 boot protocol ${(protocol >> 8).toString()}.${(protocol & 0xff).toString(16)} predates payload_offset (2.08)`, "kernels this old are not supported");
  }
  const rawSects = setup.readUInt8(0x1f1);
  let kernelVersion: string | null = null;
  const ptr = setup.readUInt16LE(0x20e);
  if (ptr !== 0 && ptr + 0x200 < setup.length) {
    const s = setup.subarray(ptr + 0x200, Math.min(setup.length, ptr + 0x200 + 256));
    const nul = s.indexOf(0);
    kernelVersion = s.toString("latin1", 0, nul < 0 ? s.length : nul) || null;
  }
  return {
    protocol: `${protocol >> 8}.${(protocol & 0xff).toString().padStart(2, "0")}`,
    setupSects: rawSects === 0 ? 4 : rawSects,
    payloadOffset: setup.readUInt32LE(0x248),
    payloadLength: setup.readUInt32LE(0x24c),
    kernelVersion,
  };
}

/** The compressed vmlinux, given the protected-mode code that follows the setup. */
export function bzImagePayload(protectedMode: Buffer, h: BzImageHeader, where: string): Buffer {
  if (h.payloadLength === 0 || h.payloadOffset + h.payloadLength > protectedMode.length) {
    throw new UserError(where, `bzImage payload (${h.payloadLength} bytes at ${h.payloadOffset}) lies outside the kernel (${protectedMode.length} bytes)`, "the kernel partition is damaged");
  }
  return protectedMode.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
}
