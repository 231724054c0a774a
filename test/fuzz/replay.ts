// Writes one fuzz case's damaged image, to run the CLI on it by hand:
//   vite-node test/fuzz/replay.ts VARIANT 'REGION[+crc] [EDIT ...]' OUT
// with the case as the fuzz summary prints it, e.g.
//   vite-node test/fuzz/replay.ts shim-x86 'vboot-preamble [u64@5=ffffffff]' /tmp/damaged.bin
import { $ } from "zx";
import { open, truncate } from "node:fs/promises";
import { fixture, type FixtureName } from "../fixtures/fixtures.js";
import { applyEdits, parseCase } from "./mutations.js";
import { describeTarget } from "./targets.js";


{
  // vite-node passes the script's own arguments from argv[2]
  const [variant, text, out] = process.argv.slice(2);
  if (!variant || !text || !out) throw new Error("usage: replay.ts VARIANT 'CASE' OUT");
  const c = parseCase(text);
  if (c.region === "initramfs-stream" || c.region === "cpio-headers") throw new Error("layer cases damage decoded data, not the image: run them through run-case.ts");
  const target = await describeTarget(variant, await fixture(variant as FixtureName));
  await $`cp --sparse=always ${target.path} ${out}`;
  const fh = await open(out, "r+");
  const io = { read: async (off: number, len: number) => (await fh.read(Buffer.alloc(len), 0, len, off)).buffer, write: async (off: number, b: Buffer) => void (await fh.write(b, 0, b.length, off)) };
  const applied = await applyEdits(c, target.regions.find((r) => r.name === c.region)!, io);
  await fh.close();
  if (applied.cutAt !== null) await truncate(out, applied.cutAt);
  process.stdout.write(`${out}\n`);
}
