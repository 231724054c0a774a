// ELF64 section headers (the vmlinux inside a bzImage keeps them even when
// stripped of symbols): used to look for the initramfs in the right section.

export interface ElfSection {
  name: string;
  offset: number;
  size: number;
  type: number;
}

export function isElf(buf: Buffer): boolean {
  return buf.length >= 64 && buf.readUInt32BE(0) === 0x7f454c46;
}

/** Sections with file contents, or null when buf is not a readable ELF64 LE file. */
export function elfSections(buf: Buffer): ElfSection[] | null {
  if (!isElf(buf) || buf[4] !== 2 || buf[5] !== 1) return null; // ELFCLASS64, little endian
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  if (shoff === 0 || shentsize < 64 || shoff + shnum * shentsize > buf.length || shstrndx >= shnum) return null;
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    raw.push({
      nameOff: buf.readUInt32LE(at),
      type: buf.readUInt32LE(at + 4),
      offset: Number(buf.readBigUInt64LE(at + 0x18)),
      size: Number(buf.readBigUInt64LE(at + 0x20)),
    });
  }
  const strtab = raw[shstrndx]!;
  const name = (off: number) => {
    const start = strtab.offset + off;
    const end = buf.indexOf(0, start);
    return buf.toString("latin1", start, end < 0 ? start : end);
  };
  const SHT_NOBITS = 8;
  return raw
    .filter((s) => s.type !== SHT_NOBITS && s.offset + s.size <= buf.length)
    .map((s) => ({ name: name(s.nameOff), offset: s.offset, size: s.size, type: s.type }));
}
