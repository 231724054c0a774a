// Writes one fuzz case's damaged image, to run the CLI on it by hand:
//   vite-node test/fuzz/replay.ts VARIANT 'REGION[+crc] [EDIT ...]' OUT
// with the case as the fuzz summary prints it, e.g.
//   vite-node test/fuzz/replay.ts shim-x86 'vboot-preamble [u64@5=ffffffff]' /tmp/damaged.bin
import { $ } from "zx";
import { open, truncate } from "node:fs/promises";
import { fixture, type FixtureName } from "../fixtures/fixtures.js";
import { applyEdits, type Case, type Edit } from "./mutations.js";
import { describeTarget, type RegionName } from "./targets.js";

function parseCase(text: string): Case {
  const m = /^([\w-]+?)(\+crc)? \[(.*)\]$/.exec(text.trim());
  if (!m) throw new Error(`not a case: ${text}`);
  const edits = m[3]!.split(" ").filter(Boolean).map((e): Edit => {
    const flip = /^flip@(\d+):(\d)$/.exec(e);
    if (flip) return { kind: "flip", at: Number(flip[1]), bit: Number(flip[2]) };
    const zero = /^zero@(\d+)\+(\d+)$/.exec(e);
    if (zero) return { kind: "zero", at: Number(zero[1]), length: Number(zero[2]) };
    const cut = /^cut@(\d+)(\/512)?$/.exec(e);
    if (cut) return { kind: "cut", at: Number(cut[1]), sector: !!cut[2] };
    const v = /^(byte|u16|u32|u64)@(\d+)=([0-9a-f]+)$/.exec(e);
    if (!v) throw new Error(`not an edit: ${e}`);
    return v[1] === "u64" ? { kind: "u64", at: Number(v[2]), value: BigInt(`0x${v[3]}`) } : { kind: v[1] as "byte" | "u16" | "u32", at: Number(v[2]), value: parseInt(v[3]!, 16) };
  });
  return { region: m[1] as RegionName, edits, fixCrc: !!m[2] };
}

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
