// Opening an input disk image: the checks every reader needs before it
// trusts a byte, and positioned reads (no copies of partitions).
import { open, stat, type FileHandle } from "node:fs/promises";
import { UserError } from "../lib/errors.js";
import { SECTOR_SIZE, type Bytes } from "../lib/units.js";

/** The smallest GPT disk: protective MBR, header and 32 sectors of entries, twice. */
const MIN_GPT_BYTES = (1 + 1 + 32 + 32 + 1) * SECTOR_SIZE;

const archiveMagics: { magic: Buffer; what: string; hint: string }[] = [
  { magic: Buffer.from("PK\x03\x04", "latin1"), what: "a zip archive", hint: "unzip it first (unzip FILE) and pass the .bin inside" },
  { magic: Buffer.from([0x1f, 0x8b]), what: "a gzip file", hint: "decompress it first (gunzip -k FILE)" },
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), what: "an xz file", hint: "decompress it first (unxz -k FILE)" },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), what: "a zstd file", hint: "decompress it first (unzstd FILE)" },
];

export class ImageFile {
  private constructor(
    readonly path: string,
    readonly size: Bytes,
    private readonly fh: FileHandle,
  ) {}

  /** Opens a disk image after checking it is a plausible, readable file. */
  static async open(path: string): Promise<ImageFile> {
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new UserError(path, "no such file", "check the path");
      if (code === "EACCES") throw new UserError(path, "permission denied", "make the file readable by this user");
      throw new UserError(path, `cannot read: ${(e as Error).message}`);
    }
    if (st.isDirectory()) throw new UserError(path, "is a directory, not a disk image", "pass the shim .bin file itself");
    if (!st.isFile() && !st.isBlockDevice()) throw new UserError(path, "is not a regular file or block device");
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      throw new UserError(path, `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, "make the file readable by this user");
    }
    const size = (st.isBlockDevice() ? await blockDeviceSize(fh) : st.size) as Bytes;
    const img = new ImageFile(path, size, fh);
    try {
      if (size === 0) throw new UserError(path, "is empty", "the download or unzip may have failed; fetch the image again");
      const head = await img.read(0, Math.min(size, 8));
      for (const a of archiveMagics) {
        if (head.subarray(0, a.magic.length).equals(a.magic)) throw new UserError(path, `is ${a.what}, not a disk image`, a.hint);
      }
      if (size < MIN_GPT_BYTES) throw new UserError(path, `is only ${size} bytes, too small to be a ChromeOS disk image`, "the file is truncated or not a disk image");
    } catch (e) {
      await fh.close();
      throw e;
    }
    return img;
  }

  /** Reads exactly `length` bytes at `offset` (into `into` when given); a short read means truncation. */
  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    // every byte is read or the call throws, so the buffer needs no zeroing
    const buf = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new UserError(this.path, `is truncated: needed bytes ${offset}..${offset + length} but the file ends at ${offset + done}`, "the download or copy was incomplete; fetch the image again");
      }
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

async function blockDeviceSize(fh: FileHandle): Promise<number> {
  // lseek(SEEK_END) is not exposed; reading the size from sysfs needs the
  // device name, so fall back to a binary search over readable offsets.
  let lo = 0;
  let hi = 2 ** 50;
  const b = Buffer.alloc(1);
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    const { bytesRead } = await fh.read(b, 0, 1, mid - 1);
    if (bytesRead === 1) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
