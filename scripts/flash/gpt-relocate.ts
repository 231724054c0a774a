// Moving the backup GPT to the end of a larger drive. An image's secondary
// header sits at the image's last sector; on a bigger drive it must sit at the
// drive's last sector, and the primary header must point there.
//
// `cgpt repair` is not enough: it writes a secondary copy at the end but leaves
// the primary's alternate LBA on the old copy and the last usable LBA where it
// was (Linux then warns "Alternate GPT header not at the end of the disk").
// So this does what sfdisk --relocate gpt-bak-std / sgdisk -e do, and cgpt
// checks the result afterwards.
import type { FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { SECTOR_SIZE } from "../lib/units.js";

const SIG = "EFI PART";

export interface Relocation {
  /** false when the backup already was at the last sector */
  moved: boolean;
  /** LBA of the backup header before and after */
  fromLba: number;
  toLba: number;
  /** last usable LBA after (grown to the end of the drive) */
  lastUsableLba: number;
}

export class GptError extends Error {}

async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
    if (bytesRead === 0) throw new GptError(`short read at byte ${offset + done}`);
    done += bytesRead;
  }
  return buf;
}

async function writeAt(fh: FileHandle, offset: number, buf: Buffer): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, offset + done);
    done += bytesWritten;
  }
}

function headerCrc(h: Buffer, size: number): number {
  const c = Buffer.from(h.subarray(0, size));
  c.writeUInt32LE(0, 16);
  return crc32(c) >>> 0;
}

function setHeaderCrc(h: Buffer, size: number) {
  h.writeUInt32LE(headerCrc(h, size), 16);
}

interface Header {
  raw: Buffer;
  size: number;
  myLba: number;
  alternateLba: number;
  lastUsableLba: number;
  entriesLba: number;
  entriesBytes: number;
}

function parseHeader(raw: Buffer): Header | null {
  if (raw.toString("latin1", 0, 8) !== SIG) return null;
  const size = raw.readUInt32LE(12);
  if (size < 92 || size > SECTOR_SIZE) return null;
  if (raw.readUInt32LE(16) !== headerCrc(raw, size)) return null;
  const count = raw.readUInt32LE(80);
  const entrySize = raw.readUInt32LE(84);
  if (entrySize < 128 || count * entrySize > 1 << 20) return null;
  return {
    raw,
    size,
    myLba: Number(raw.readBigUInt64LE(24)),
    alternateLba: Number(raw.readBigUInt64LE(32)),
    lastUsableLba: Number(raw.readBigUInt64LE(48)),
    entriesLba: Number(raw.readBigUInt64LE(72)),
    entriesBytes: count * entrySize,
  };
}

/**
 * Rewrites the backup GPT at the last sector of a drive of `driveBytes`,
 * points the primary at it, grows the last usable LBA and the protective MBR
 * to the whole drive, and zeroes the image's old backup copy. The primary
 * must be valid (the image was verified and read back).
 */
export async function relocateBackupGpt(fh: FileHandle, driveBytes: number): Promise<Relocation> {
  const primary = parseHeader(await readAt(fh, SECTOR_SIZE, SECTOR_SIZE));
  if (!primary || primary.myLba !== 1) throw new GptError("no valid primary GPT header at sector 1");
  const entries = await readAt(fh, primary.entriesLba * SECTOR_SIZE, primary.entriesBytes);
  if ((crc32(entries) >>> 0) !== primary.raw.readUInt32LE(88)) throw new GptError("the primary GPT's partition entries fail their CRC");

  const lastLba = Math.floor(driveBytes / SECTOR_SIZE) - 1;
  const entrySectors = Math.ceil(primary.entriesBytes / SECTOR_SIZE);
  const backupEntriesLba = lastLba - entrySectors;
  const lastUsableLba = Math.max(primary.lastUsableLba, backupEntriesLba - 1);
  const oldLba = primary.alternateLba;
  if (oldLba === lastLba && primary.lastUsableLba === lastUsableLba) return { moved: false, fromLba: oldLba, toLba: lastLba, lastUsableLba };
  if (lastLba < oldLba) throw new GptError(`the drive (${lastLba + 1} sectors) is smaller than the image's table says (backup header at sector ${oldLba})`);

  // 1. the new backup: entries, then the header that names them
  const backup = Buffer.from(primary.raw);
  backup.writeBigUInt64LE(BigInt(lastLba), 24);
  backup.writeBigUInt64LE(1n, 32);
  backup.writeBigUInt64LE(BigInt(lastUsableLba), 48);
  backup.writeBigUInt64LE(BigInt(backupEntriesLba), 72);
  setHeaderCrc(backup, primary.size);
  await writeAt(fh, backupEntriesLba * SECTOR_SIZE, entries);
  await writeAt(fh, lastLba * SECTOR_SIZE, backup);
  await fh.datasync();

  // 2. the primary points at it; the protective MBR covers the drive
  const head = Buffer.from(primary.raw);
  head.writeBigUInt64LE(BigInt(lastLba), 32);
  head.writeBigUInt64LE(BigInt(lastUsableLba), 48);
  setHeaderCrc(head, primary.size);
  await writeAt(fh, SECTOR_SIZE, head);
  const mbr = await readAt(fh, 0, SECTOR_SIZE);
  if (mbr[510] === 0x55 && mbr[511] === 0xaa) {
    for (let i = 0; i < 4; i++) {
      const e = 446 + i * 16;
      if (mbr[e + 4] === 0xee && mbr.readUInt32LE(e + 8) === 1) {
        mbr.writeUInt32LE(Math.min(lastLba, 0xffffffff), e + 12);
        await writeAt(fh, 0, mbr);
      }
    }
  }
  await fh.datasync();

  // 3. the image's old backup is now inside usable space: no stale table there
  if (oldLba !== lastLba && oldLba > primary.lastUsableLba) {
    const old = parseHeader(await readAt(fh, oldLba * SECTOR_SIZE, SECTOR_SIZE));
    const from = old && old.myLba === oldLba && old.entriesLba > primary.lastUsableLba && old.entriesLba < oldLba ? old.entriesLba : oldLba;
    const to = Math.min(oldLba, backupEntriesLba - 1); // a drive only a little larger: the new copy overlaps
    if (to >= from) {
      await writeAt(fh, from * SECTOR_SIZE, Buffer.alloc((to - from + 1) * SECTOR_SIZE));
      await fh.datasync();
    }
  }
  return { moved: true, fromLba: oldLba, toLba: lastLba, lastUsableLba };
}
