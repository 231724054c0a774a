// Damaged input never crashes the reader: random damage to every fixture
// variant (GPT header and entries, vboot keyblock and preamble, bzImage
// setup header, FIT/FDT, compressed payload, the initramfs stream, cpio
// headers, ROOT-A's superblock, a cut file) ends in success or in a clear
// error naming the file, never in an internal error or a hang. fast-check
// with a fixed seed, a few cases per variant here; `npm run fuzz` runs
// thousands (README).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import fc from "fast-check";
import { $ } from "zx";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readExtFile } from "../../scripts/read/extfs.js";
import { FIXTURES, fixture, type FixtureName } from "../fixtures/fixtures.js";
import { runCli } from "../helpers/cli.js";
import { makeRootfsDir, tempDir } from "../helpers/rootfs.js";
import { caseArbitrary, describeCase, parseCase, type Case } from "./mutations.js";
import { runCase, Workbench } from "./run-case.js";
import { describeTarget, type Target } from "./targets.js";

const SEED = 20261201;
const RUNS_PER_VARIANT = 12;
const HANG_MS = 60_000;

let t: Awaited<ReturnType<typeof tempDir>>;
let bench: Workbench;
const targets = new Map<string, Target>();
beforeAll(async () => {
  t = await tempDir();
  for (const name of Object.keys(FIXTURES) as FixtureName[]) targets.set(name, await describeTarget(name, await fixture(name)));
  bench = await Workbench.create(join(t.path, "bench"), [...targets.values()]);
}, 600_000);
afterAll(async () => {
  await bench?.pristineShimImage?.close();
  await t.cleanup();
});

async function verdictOf(target: Target, c: Case) {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`hang: no result in ${HANG_MS} ms for ${describeCase(c)}`)), HANG_MS)));
  try {
    return await Promise.race([runCase(bench, target, c), hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe("damaged input (fast-check, fixed seed)", () => {
  for (const [i, name] of (Object.keys(FIXTURES) as FixtureName[]).entries()) {
    it(`${name}: every damaged copy is read or refused with a clear error`, async () => {
      const target = targets.get(name)!;
      await fc.assert(
        fc.asyncProperty(caseArbitrary(target.regions.map((r) => r.name)), async (c) => {
          const o = await verdictOf(target, c);
          if (o.verdict === "internal") throw new Error(`internal error on ${describeCase(c)}: ${o.message}`);
        }),
        { seed: SEED + i, numRuns: RUNS_PER_VARIANT },
      );
    }, 900_000);
  }
});

// Cases `npm run fuzz` found, kept so that they stay fixed.
const FOUND: [FixtureName, string, string][] = [
  ["shim-kbuild", "bzimage-setup [byte@572113566=c4]", "a kernel release that ROOT-A lacks is the shim's fault, named as the shim"],
  ["shim-kbuild", "cpio-headers+crc [zero@1128741958+973]", "a name listed again as a symlink over a directory that holds entries"],
];

describe("damaged input the fuzz run found", () => {
  for (const [name, text, what] of FOUND) {
    it(`${name}, ${text}: ${what}`, async () => {
      const o = await verdictOf(targets.get(name)!, parseCase(text));
      expect(o.verdict, o.message).not.toBe("internal");
    }, 120_000);
  }
});

describe("damaged input through the CLI", () => {
  let rootfs: string;
  beforeAll(async () => {
    rootfs = await makeRootfsDir(join(t.path, "tree"));
  });

  /** A copy of shim-x86 with one little-endian integer written at a place the formats define. */
  async function damaged(name: string, at: (target: Target) => number, value: bigint, width: 4 | 8): Promise<string> {
    const target = targets.get("shim-x86")!;
    const { readFile } = await import("node:fs/promises");
    const bytes = await readFile(target.path);
    const off = at(target);
    if (width === 8) bytes.writeBigUInt64LE(value, off);
    else bytes.writeUInt32LE(Number(value), off);
    const path = join(t.path, `${name}.bin`);
    await writeFile(path, bytes);
    return path;
  }
  const start = (target: Target, region: string) => target.regions.find((r) => r.name === region)!.ranges[0]![0];

  const cases: [string, (target: Target) => number, bigint, 4 | 8][] = [
    ["a keyblock size of 2^63", (x) => start(x, "vboot-keyblock") + 16, 1n << 63n, 8],
    ["a preamble size of 4 GiB", (x) => start(x, "vboot-preamble"), 0xffffffffn, 8],
    ["a bzImage payload length of 4 GiB", (x) => start(x, "bzimage-setup") - 0x1f1 + 0x24c, 0xffffffffn, 4],
    ["a bzImage payload offset past the kernel", (x) => start(x, "bzimage-setup") - 0x1f1 + 0x248, 0x7fffffffn, 4],
  ];
  for (const [what, at, value, width] of cases) {
    it(`refuses a shim with ${what} in one line naming the file, exit status 1`, async () => {
      const path = await damaged(what.replace(/\W+/g, "-"), at, value, width);
      const r = await runCli(["build", "--shim", path, "--rootfs", rootfs, "--out", join(t.path, "never.bin"), "--dry-run"]);
      expect(r.code).toBe(1);
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines[0]).toMatch(new RegExp(`^shimboot: ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} partition 2 \\(KERN-A\\): `));
      expect(lines.slice(1).every((l) => l.startsWith("  hint: "))).toBe(true);
    });
  }
});

describe("length fields that ask for too much", () => {
  it("refuses a file in an ext file system that claims 100 GiB (a sparse lsb-release) without reading it into memory", async () => {
    const tree = join(t.path, "huge-tree");
    await mkdir(join(tree, "etc"), { recursive: true });
    await $`truncate -s 100G ${join(tree, "etc/lsb-release")}`;
    const img = join(t.path, "huge.img");
    await $`mke2fs -q -F -t ext2 -d ${tree} ${img} 16M`;
    const before = process.memoryUsage().rss;
    await expect(readExtFile({ spec: img, where: img }, "/etc/lsb-release")).rejects.toThrow(/prints more than 16 MiB; the file system is damaged/);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
  });
});

