// Finding the built-in initramfs inside a decompressed kernel: the
// .init.ramfs section when the ELF still has it, else candidates (codec
// magics or a raw cpio) within .init.data or the whole image, each accepted
// only if it decodes into a cpio archive that parses to the end.
import { CodecError, codecAt, decompress, findCodecCandidates, type Codec } from "./codecs.js";
import { CpioError, looksLikeCpio, parseCpio, type CpioEntry } from "./cpio.js";
import { elfSections } from "./elf.js";

export interface FoundInitramfs {
  compression: Codec | "none";
  /** where it was found and how */
  location: { section: string | null; offset: number; method: "elf-section" | "candidate" };
  compressedSize: number;
  size: number;
  entries: CpioEntry[];
}

export type InitramfsSearch =
  | { found: FoundInitramfs }
  | { found: null; reason: "none" | "default-only" | "corrupt"; detail: string };

/** The kernel's default initramfs (usr/default_cpio_list) is not a factory shim's. */
function isDefaultOnly(entries: CpioEntry[]): boolean {
  return entries.every((e) => ["dev", "dev/console", "root"].includes(e.path));
}

async function tryDecode(buf: Buffer, offset: number, end: number, codec: Codec | "none") {
  const slice = buf.subarray(offset, end);
  const raw = codec === "none" ? slice : await decompress(codec, slice);
  const { entries } = parseCpio(raw);
  return { raw, entries };
}

export async function findInitramfs(vmlinux: Buffer): Promise<InitramfsSearch> {
  const sections = elfSections(vmlinux);
  const ramfs = sections?.find((s) => s.name === ".init.ramfs");
  if (ramfs && ramfs.size > 0) {
    const codec = codecAt(vmlinux, ramfs.offset) ?? (looksLikeCpio(vmlinux, ramfs.offset) ? "none" : null);
    if (codec === null) return { found: null, reason: "corrupt", detail: "the .init.ramfs section holds neither a cpio archive nor a known compression" };
    try {
      const { raw, entries } = await tryDecode(vmlinux, ramfs.offset, ramfs.offset + ramfs.size, codec);
      if (isDefaultOnly(entries)) return { found: null, reason: "default-only", detail: "only the kernel's default initramfs (/dev, /root) is built in" };
      return { found: { compression: codec, location: { section: ".init.ramfs", offset: ramfs.offset, method: "elf-section" }, compressedSize: ramfs.size, size: raw.length, entries } };
    } catch (e) {
      if (e instanceof CodecError || e instanceof CpioError) return { found: null, reason: "corrupt", detail: `initramfs in .init.ramfs: ${e.message}` };
      throw e;
    }
  }
  const initData = sections?.find((s) => s.name === ".init.data");
  const from = initData?.offset ?? 0;
  const to = initData ? initData.offset + initData.size : vmlinux.length;
  const candidates: { codec: Codec | "none"; offset: number }[] = findCodecCandidates(vmlinux, from, to);
  for (let i = vmlinux.indexOf("0707", from, "latin1"); i >= 0 && i < to; i = vmlinux.indexOf("0707", i + 1, "latin1")) {
    if (looksLikeCpio(vmlinux, i)) candidates.push({ codec: "none", offset: i });
  }
  candidates.sort((a, b) => a.offset - b.offset);
  let firstFailure: string | null = null;
  let sawDefault = false;
  for (const c of candidates) {
    try {
      const { raw, entries } = await tryDecode(vmlinux, c.offset, to, c.codec);
      if (isDefaultOnly(entries)) {
        sawDefault = true;
        continue;
      }
      return { found: { compression: c.codec, location: { section: initData ? ".init.data" : null, offset: c.offset, method: "candidate" }, compressedSize: c.codec === "none" ? raw.length : -1, size: raw.length, entries } };
    } catch (e) {
      if (!(e instanceof CodecError || e instanceof CpioError)) throw e;
      // a strong magic that fails to decode is the likely culprit if nothing else works
      if (!firstFailure && c.codec !== "lzma" && c.codec !== "none") firstFailure = `${c.codec} data at vmlinux offset ${c.offset}: ${e.message}`;
    }
  }
  if (sawDefault) return { found: null, reason: "default-only", detail: "only the kernel's default initramfs (/dev, /root) is built in" };
  if (firstFailure) return { found: null, reason: "corrupt", detail: firstFailure };
  return { found: null, reason: "none", detail: `no compressed cpio archive in ${initData ? ".init.data" : "the kernel image"}` };
}
