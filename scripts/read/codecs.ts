// The compressions the Linux kernel build uses for its payload and its
// built-in initramfs: recognised by their exact magic at a known position,
// decoded with the field's tools (or zlib for gzip), with the exact end of a
// frame found from the format itself where a tool would choke on what follows.
import { spawn } from "node:child_process";
import { crc32, inflateRawSync } from "node:zlib";
import { requireTool } from "../lib/exec.js";

export type Codec = "gzip" | "xz" | "lzma" | "lz4" | "zstd" | "bzip2" | "lzo";

const MAGIC: [Codec, number[]][] = [
  ["gzip", [0x1f, 0x8b, 0x08]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
  ["lz4", [0x02, 0x21, 0x4c, 0x18]],
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["lzo", [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]],
];

/** The codec whose magic starts at `at`, or null. */
export function codecAt(buf: Buffer, at = 0): Codec | null {
  for (const [codec, magic] of MAGIC) {
    if (at + magic.length <= buf.length && magic.every((b, i) => buf[at + i] === b)) {
      if (codec === "bzip2") {
        const level = buf[at + 3] ?? 0;
        const block = buf.subarray(at + 4, at + 10).toString("latin1");
        if (level < 0x31 || level > 0x39 || block !== "1AY&SY") continue;
      }
      return codec;
    }
  }
  // lzma "alone": properties byte 0x5D and a dictionary size of 2^n or 2^n+2^(n-1).
  if (at + 13 <= buf.length && buf[at] === 0x5d) {
    const dict = buf.readUInt32LE(at + 1);
    const n = Math.floor(Math.log2(dict));
    if (dict >= 4096 && (dict === 2 ** n || dict === 2 ** n + 2 ** (n - 1))) return "lzma";
  }
  return null;
}

/** Offsets of every codec magic in buf[from, to), in order (initramfs candidates). */
export function findCodecCandidates(buf: Buffer, from = 0, to = buf.length): { codec: Codec; offset: number }[] {
  const found: { codec: Codec; offset: number }[] = [];
  const region = buf.subarray(0, to);
  const needles: number[][] = [...MAGIC.map(([, m]) => m.slice(0, 3)), [0x5d, 0x00, 0x00]];
  for (const needle of needles) {
    const n = Buffer.from(needle);
    for (let i = region.indexOf(n, from); i >= 0; i = region.indexOf(n, i + 1)) {
      const c = codecAt(buf, i);
      if (c && !(c === "lzma" && !plausibleLzmaSize(buf, i))) found.push({ codec: c, offset: i });
    }
  }
  return found.sort((a, b) => a.offset - b.offset);
}

/** An lzma header's uncompressed size is unknown (all ones) or below 1 GiB. */
function plausibleLzmaSize(buf: Buffer, at: number): boolean {
  const size = buf.readBigUInt64LE(at + 5);
  return size === 0xffffffffffffffffn || size < 1n << 30n;
}

export class CodecError extends Error {}

/**
 * Length of the zstd frame at the start of buf (RFC 8878 §3.1.1), walking
 * block headers; skippable frames are not expected here.
 */
export function zstdFrameLength(buf: Buffer): number | null {
  if (buf.length < 6 || buf.readUInt32LE(0) !== 0xfd2fb528) return null;
  const fhd = buf[4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const dictFlag = fhd & 3;
  let pos = 5 + (single ? 0 : 1) + [0, 1, 2, 4][dictFlag]! + [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  for (;;) {
    if (pos + 3 > buf.length) return null;
    const h = buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16);
    const last = h & 1;
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    if (type === 3) return null; // reserved: not a zstd frame
    pos += 3 + (type === 1 ? 1 : size);
    if (last) break;
  }
  pos += checksum ? 4 : 0;
  return pos <= buf.length ? pos : null;
}

/**
 * Length of an lz4 legacy frame (magic, then blocks each led by a 4-byte
 * compressed size) as the kernel's unlz4 reads it: it ends at the input's end,
 * at a block size the format cannot have, or at the 4-byte size trailer.
 */
export function lz4LegacyLength(buf: Buffer): number {
  const LEGACY_MAX_COMPRESSED = 0x7e000000; // LZ4_compressBound(8 MiB) bounded
  const BLOCK_BOUND = 8 * 1024 * 1024 + Math.ceil((8 * 1024 * 1024) / 255) + 16;
  let pos = 4;
  while (pos + 4 <= buf.length) {
    const size = buf.readUInt32LE(pos);
    if (size === 0x184c2102 || size === 0 || size > BLOCK_BOUND || size > LEGACY_MAX_COMPRESSED || pos + 4 + size > buf.length) break;
    pos += 4 + size;
  }
  return pos;
}

/**
 * No kernel or built-in initramfs of a ChromeOS image decodes to anything
 * near this; damaged data that claims more is refused before it fills memory.
 */
export const MAX_DECODED_BYTES = 512 * 2 ** 20;

const tooBig = (codec: string) => new CodecError(`${codec} stream is corrupt: it decodes to more than ${MAX_DECODED_BYTES / 2 ** 20} MiB`);

function runFilter(cmd: string, args: string[], input: Buffer): Promise<{ out: Buffer; code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let size = 0;
    let err = "";
    p.stdout.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_DECODED_BYTES) {
        p.kill("SIGKILL");
        reject(tooBig(cmd));
        return;
      }
      chunks.push(c);
    });
    p.stderr.on("data", (c: Buffer) => (err += c.toString()));
    p.on("error", reject);
    p.on("close", (code) => resolve({ out: Buffer.concat(chunks), code: code ?? 1, stderr: err.trim() }));
    p.stdin.on("error", () => {}); // the tool may stop reading early (trailing data)
    p.stdin.end(input);
  });
}

/**
 * One gzip member (RFC 1952) at the start of buf: header, raw deflate (zlib
 * reports how much input it consumed), then CRC32 and size checked.
 */
function gunzipMember(buf: Buffer): Buffer {
  if (buf.length < 18 || buf[0] !== 0x1f || buf[1] !== 0x8b || buf[2] !== 8) throw new CodecError("gzip stream is corrupt: bad header");
  const flags = buf[3]!;
  let pos = 10;
  if (flags & 4) pos += 2 + buf.readUInt16LE(pos); // FEXTRA
  for (const bit of [8, 16]) {
    if (flags & bit) pos = buf.indexOf(0, pos) + 1; // FNAME, FCOMMENT
    if (pos === 0) throw new CodecError("gzip stream is corrupt: unterminated header field");
  }
  if (flags & 2) pos += 2; // FHCRC
  let out: Buffer;
  let consumed: number;
  try {
    const r = inflateRawSync(buf.subarray(pos), { info: true, maxOutputLength: MAX_DECODED_BYTES }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    out = r.buffer;
    consumed = r.engine.bytesWritten;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw tooBig("gzip");
    throw new CodecError(`gzip stream is corrupt: ${(e as Error).message}`);
  }
  const trailer = pos + consumed;
  if (trailer + 8 > buf.length) throw new CodecError("gzip stream is truncated");
  if (buf.readUInt32LE(trailer) !== crc32(out) || buf.readUInt32LE(trailer + 4) !== (out.length >>> 0)) {
    throw new CodecError("gzip stream is corrupt: CRC32 or size mismatch");
  }
  return out;
}

const toolOf: Record<Exclude<Codec, "gzip">, string> = { xz: "xz", lzma: "xz", lz4: "lz4", zstd: "zstd", bzip2: "bzip2", lzo: "lzop" };

/**
 * Decodes one compressed stream at the start of `input`. Data after the
 * stream (the kernel's size trailer, the rest of a vmlinux) is ignored; a
 * damaged stream throws CodecError.
 */
export async function decompress(codec: Codec, input: Buffer): Promise<Buffer> {
  if (codec === "gzip") return gunzipMember(input);
  const tool = toolOf[codec];
  requireTool(tool);
  let data = input;
  let args: string[];
  switch (codec) {
    case "xz":
      args = ["-d", "-c", "--single-stream", "-q"];
      break;
    case "lzma":
      args = ["-d", "-c", "--format=lzma", "--single-stream", "-q"];
      break;
    case "zstd": {
      const n = zstdFrameLength(input);
      if (n === null) throw new CodecError("zstd frame is truncated or corrupt");
      data = input.subarray(0, n);
      args = ["-d", "-c", "-q"];
      break;
    }
    case "lz4":
      data = input.subarray(0, lz4LegacyLength(input));
      args = ["-d", "-c", "-q"];
      break;
    case "bzip2":
      args = ["-d", "-c"];
      break;
    case "lzo":
      args = ["-d", "-c", "-q"];
      break;
  }
  const r = await runFilter(tool, args, data);
  const trailingOnly = codec === "bzip2" && r.code === 2 && /^[^\n]*trailing garbage after EOF ignored$/.test(r.stderr);
  if (r.code !== 0 && !trailingOnly) {
    throw new CodecError(`${codec} stream is corrupt: ${r.stderr || `${tool} exited ${r.code}`}`);
  }
  return r.out;
}
