// From a kernel partition's bytes to the kernel image and its built-in
// initramfs: vboot blob → bzImage payload (x86) or FIT kernel node (arm64)
// → decompressed kernel → initramfs.
import { UserError } from "../lib/errors.js";
import { bzImagePayload, parseBzImageHeader, type BzImageHeader } from "./bzimage.js";
import { CodecError, codecAt, decompress, type Codec } from "./codecs.js";
import { fitKernel, isFdt } from "./fit.js";
import { findInitramfs, type InitramfsSearch } from "./initramfs.js";
import { kernelBody, parseVbootKernel, x86SetupHeader, type VbootKernel } from "./vboot.js";

export type Arch = "x86_64" | "arm64";

export interface KernelInfo {
  vboot: VbootKernel;
  arch: Arch;
  format: "bzImage" | "FIT";
  bzImage?: BzImageHeader;
  fitNode?: string;
  /** compression of the kernel payload (bzImage) or FIT kernel node */
  payloadCompression: Codec | "none";
  payloadSize: number;
  vmlinuxSize: number;
  /** release string as `uname -r` prints it, when the image says it */
  release: string | null;
  initramfs: InitramfsSearch;
}

/** `Linux version X (...)` banner, for kernels whose header lacks the string. */
function bannerRelease(vmlinux: Buffer): string | null {
  const i = vmlinux.indexOf("Linux version ", 0, "latin1");
  if (i < 0) return null;
  const m = /^Linux version (\S+)/.exec(vmlinux.toString("latin1", i, i + 200));
  return m?.[1] ?? null;
}

const fitCodec: Record<string, Codec | "none"> = { none: "none", gzip: "gzip", lz4: "lz4", lzma: "lzma", xz: "xz", zstd: "zstd", bzip2: "bzip2", lzo: "lzo" };

export async function readKernel(part: Buffer, where: string): Promise<KernelInfo> {
  const vboot = parseVbootKernel(part, where);
  const body = kernelBody(part, vboot);
  let arch: Arch;
  let format: KernelInfo["format"];
  let payload: Buffer;
  let payloadCompression: Codec | "none";
  let bz: BzImageHeader | undefined;
  let fitNode: string | undefined;
  if (isFdt(body)) {
    const k = fitKernel(body, where);
    arch = "arm64";
    format = "FIT";
    fitNode = k.node;
    payload = k.data;
    const c = fitCodec[k.compression];
    if (!c) throw new UserError(where, `FIT kernel uses unsupported compression "${k.compression}"`);
    payloadCompression = c;
  } else {
    arch = "x86_64";
    format = "bzImage";
    bz = parseBzImageHeader(x86SetupHeader(part, vboot), where);
    payload = bzImagePayload(body, bz, where);
    const c = codecAt(payload, 0);
    if (!c) throw new UserError(where, "bzImage payload has an unknown compression (no gzip/xz/lzma/lz4/zstd/bzip2/lzo magic at payload_offset)", "the kernel partition is damaged");
    payloadCompression = c;
  }
  let vmlinux: Buffer;
  try {
    vmlinux = payloadCompression === "none" ? payload : await decompress(payloadCompression, payload);
  } catch (e) {
    if (e instanceof CodecError) throw new UserError(where, `kernel payload: ${e.message}`, "the kernel partition is damaged; fetch the image again");
    throw e;
  }
  const release = bz?.kernelVersion?.split(" ")[0] ?? bannerRelease(vmlinux);
  return {
    vboot,
    arch,
    format,
    ...(bz ? { bzImage: bz } : {}),
    ...(fitNode ? { fitNode } : {}),
    payloadCompression,
    payloadSize: payload.length,
    vmlinuxSize: vmlinux.length,
    release,
    initramfs: await findInitramfs(vmlinux),
  };
}
