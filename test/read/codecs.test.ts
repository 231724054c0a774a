// Compression detection and decoding, with what follows a stream in a kernel.
import { describe, it, expect } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { codecAt, CodecError, decompress, findCodecCandidates, lz4LegacyLength, zstdFrameLength, type Codec } from "../../scripts/read/codecs.js";
import { compress } from "../fixtures/kernel-blob.js";

const sample = Buffer.from(Array.from({ length: 20000 }, (_, i) => `line ${i} of the sample\n`).join(""));

async function compressed(codec: Exclude<Codec, "lzo">, sizeAppend = false): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "codec-"));
  try {
    await writeFile(join(dir, "in"), sample);
    await compress(codec, join(dir, "in"), join(dir, "out"), { sizeAppend });
    return await readFile(join(dir, "out"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const codecs = ["gzip", "xz", "lzma", "lz4", "zstd", "bzip2"] as const;

describe("codecs", () => {
  for (const c of codecs) {
    it(`recognises ${c} by its magic`, async () => {
      expect(codecAt(await compressed(c))).toBe(c);
    });
    it(`decodes ${c} followed by the kernel's 4-byte size and other data`, async () => {
      const data = Buffer.concat([await compressed(c, true), randomBytes(3000)]);
      expect((await decompress(c, data)).equals(sample)).toBe(true);
    });
  }

  for (const c of ["gzip", "xz", "zstd", "bzip2"] as const) {
    it(`rejects a damaged ${c} stream (it carries a checksum)`, async () => {
      const data = await compressed(c);
      data[Math.floor(data.length / 2)]! ^= 0xff;
      await expect(decompress(c, data)).rejects.toThrow(CodecError);
    });
  }

  it("measures a zstd frame exactly from its block headers", async () => {
    const z = await compressed("zstd");
    expect(zstdFrameLength(Buffer.concat([z, randomBytes(100)]))).toBe(z.length);
  });

  it("ends an lz4 legacy frame at the kernel's size trailer", async () => {
    const plain = await compressed("lz4");
    const withSize = await compressed("lz4", true);
    expect(lz4LegacyLength(withSize)).toBe(plain.length);
  });

  it("finds candidates of several codecs in one buffer, in order", async () => {
    const buf = Buffer.concat([randomBytes(100).fill(0x11), await compressed("xz"), Buffer.alloc(50, 0x11), await compressed("zstd")]);
    const found = findCodecCandidates(buf).map((c) => c.codec);
    expect(found.indexOf("xz")).toBeLessThan(found.indexOf("zstd"));
  });
});
