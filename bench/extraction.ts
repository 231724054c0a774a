// Initramfs extraction from the x86 fixture shim: our reader (in-process, and
// the CLI end to end) against the old shell scripts' binwalk pipeline (dd
// KERN-A, binwalk -y gzip, dd | gunzip, binwalk -y xz, dd | xz -d | cpio -id),
// measured in the same run.
import { $ } from "zx";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { App } from "./lib/app.js";
import { fmtS, log, seriesRow, table } from "./lib/report.js";
import { timeRuns, type Series } from "./lib/stats.js";

const RUNS_FAST = 5;
const RUNS_SLOW = 3; // the old pipeline with dd bs=1 takes seconds per run

/**
 * The old shell scripts' extraction, verbatim apart from two things this
 * binwalk needs: KERN-A is cut out with cgpt + dd, and binwalk 2.3 prints
 * "xz compressed data" in lower case (the scripts grepped "XZ").
 * $3 = 1 → dd bs=1 as the scripts did; $3 = fast → dd iflag=skip_bytes bs=1M
 * (the same pipeline without the byte-at-a-time dd, to isolate binwalk).
 */
const BINWALK_PIPELINE = String.raw`
shim=$1; work=$2; mode=$3
cd "$work"
start=$(cgpt show -i 2 -b "$shim"); size=$(cgpt show -i 2 -s "$shim")
dd if="$shim" of=kernel.bin bs=512 skip="$start" count="$size" status=none
skip() { if [ "$mode" = 1 ]; then dd if="$1" bs=1 skip="$2" status=none; else dd if="$1" iflag=skip_bytes bs=1M skip="$2" status=none; fi; }
gzip_offset=$(binwalk -y gzip kernel.bin | grep "gzip compressed data" | head -n 1 | awk '{print $1}')
skip kernel.bin "$gzip_offset" | gunzip > vmlinux 2>/dev/null
xz_offset=$(binwalk -y xz vmlinux | grep -i "XZ compressed data" | head -n 1 | awk '{print $1}')
mkdir root && cd root
skip ../vmlinux "$xz_offset" | xz -d 2>/dev/null | cpio -id --quiet
`;

export interface ExtractResult {
  fixture: string;
  entries: number;
  busyboxBytes: number;
  oursInProcess: Series;
  oursKernelOnly: Series;
  oursCli: Series;
  binwalkOldScripts: Series;
  binwalkFastDd: Series;
  binwalkCheck: string;
}

type Entries = { path: string; data: Buffer }[];

export async function benchExtraction(app: App, shim: string, tmp: string): Promise<ExtractResult> {
  type Img = { kernel: { initramfs: { found: { entries: Entries } | null } }; close(): Promise<void> };
  const { readShim } = await app.load<{ readShim(p: string): Promise<Img> }>("dist/scripts/read/chromeos-image.js");
  const { ImageFile } = await app.load<{ ImageFile: { open(p: string): Promise<{ read(o: number, l: number): Promise<Buffer>; close(): Promise<void> }> } }>("dist/scripts/read/image-file.js");
  const { readPartitionTable } = await app.load<{ readPartitionTable(img: unknown): Promise<{ partitions: { label: string; start: number; size: number }[] }> }>("dist/scripts/read/gpt.js");
  const { readKernel } = await app.load<{ readKernel(part: Buffer, where: string): Promise<{ initramfs: { found: { entries: unknown[] } | null } }> }>("dist/scripts/read/kernel.js");

  // what our reader finds: the reference for checking the binwalk output
  const first = await readShim(shim);
  const entries = first.kernel.initramfs.found?.entries ?? [];
  await first.close();
  const busybox = entries.find((e) => e.path === "bin/busybox");
  if (!busybox) throw new Error("our reader found no bin/busybox in the fixture's initramfs");

  log("extraction: ours, in-process readShim");
  const oursInProcess = await timeRuns(RUNS_FAST, 1, async () => {
    const img = await readShim(shim);
    try {
      if (img.kernel.initramfs.found?.entries.length !== entries.length) throw new Error("readShim: initramfs missing");
    } finally {
      await img.close();
    }
  });

  log("extraction: ours, in-process kernel only (GPT + KERN-A + readKernel)");
  const oursKernelOnly = await timeRuns(RUNS_FAST, 1, async () => {
    const img = await ImageFile.open(shim);
    try {
      const kern = (await readPartitionTable(img)).partitions.find((p) => p.label === "KERN-A")!;
      const k = await readKernel(await img.read(kern.start * 512, kern.size * 512), "bench");
      if (k.initramfs.found?.entries.length !== entries.length) throw new Error("readKernel: initramfs missing");
    } finally {
      await img.close();
    }
  });

  log("extraction: ours, CLI end to end (inspect --json --no-hash)");
  const oursCli = await timeRuns(RUNS_FAST, 1, async () => {
    const r = await $`${process.execPath} ${app.cli} inspect --json --no-hash ${shim}`;
    const j = JSON.parse(r.stdout) as { kernel?: { initramfs?: { present?: boolean; files?: number } } };
    if (!j.kernel?.initramfs?.present || j.kernel.initramfs.files !== entries.length) throw new Error(`inspect: unexpected initramfs ${JSON.stringify(j.kernel?.initramfs)}`);
  });

  // the binwalk pipeline, checked after every run: every entry extracted, busybox whole
  const work = join(tmp, "binwalk");
  let check = "";
  const runPipeline = (mode: string) => async () => {
    await rm(work, { recursive: true, force: true });
    await mkdir(work);
    await $`bash -c ${BINWALK_PIPELINE} pipeline ${shim} ${work} ${mode}`.nothrow();
  };
  const verify = async () => {
    const root = join(work, "root");
    const st = await stat(join(root, "bin/busybox")).catch(() => null);
    if (!st || st.size !== busybox.data.length) throw new Error(`the binwalk pipeline did not extract bin/busybox (${st ? `${st.size} bytes, expected ${busybox.data.length}` : "missing"})`);
    const n = Number((await $`find ${root} -mindepth 1 | wc -l`).stdout.trim());
    if (n !== entries.length) throw new Error(`the binwalk pipeline extracted ${n} entries, our reader ${entries.length}`);
    check = `bin/busybox ${st.size} bytes and ${n}/${entries.length} entries extracted on every run`;
    await rm(work, { recursive: true, force: true });
  };
  log("extraction: binwalk pipeline with dd iflag=skip_bytes bs=1M (also warms binwalk)");
  const binwalkFastDd = await timeRuns(RUNS_FAST, 1, runPipeline("fast"), verify);
  log("extraction: binwalk pipeline as the old scripts ran it (dd bs=1)");
  const binwalkOldScripts = await timeRuns(RUNS_SLOW, 0, runPipeline("1"), verify);

  return { fixture: shim, entries: entries.length, busyboxBytes: busybox.data.length, oursInProcess, oursKernelOnly, oursCli, binwalkOldScripts, binwalkFastDd, binwalkCheck: check };
}

export function reportExtraction(ex: ExtractResult): string {
  const r = (a: Series, b: Series) => (a.median / b.median).toFixed(1);
  const vs = (s: Series) => `old ${r(ex.binwalkOldScripts, s)}× · fast-dd ${r(ex.binwalkFastDd, s)}×`;
  return [
    "## Initramfs extraction (x86 fixture shim: gzip payload, xz initramfs)",
    "",
    table(["variant", "runs", "median", "min – max", "ratio (binwalk / this)"], [
      seriesRow("ours: readShim in-process (GPT, KERN-A, initramfs + cpio, ROOT-A facts)", ex.oursInProcess, vs(ex.oursInProcess)),
      seriesRow("ours: kernel only in-process (GPT + KERN-A + readKernel)", ex.oursKernelOnly, vs(ex.oursKernelOnly)),
      seriesRow("ours: CLI `inspect --json --no-hash` (process start-up included)", ex.oursCli, vs(ex.oursCli)),
      seriesRow("reference: old scripts' binwalk pipeline (dd bs=1)", ex.binwalkOldScripts, "reference"),
      seriesRow("reference: same pipeline, dd iflag=skip_bytes bs=1M", ex.binwalkFastDd, "reference (binwalk cost alone)"),
    ]),
    "",
    `Check: ${ex.binwalkCheck}; our reader: ${ex.entries} entries, bin/busybox ${ex.busyboxBytes} bytes. Target ≥ 10× (binwalk / ours). ${fmtS(ex.oursCli.median)} through the CLI.`,
    "",
  ].join("\n");
}
