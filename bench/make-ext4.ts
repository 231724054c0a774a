// nix/rootfs/make-ext4.sh (the Nix rootfs builder's script) on the 1 GiB
// tree, against a durable `cp -a` of the same tree, with the bytes each
// moves: the script should pass over the content once (tar into mke2fs -d).
// It needs mke2fs >= 1.47.1: the one on PATH when new enough, else
// bookworm-backports' copy that test/tools/e2fsprogs-backports.sh unpacks.
import { $ } from "zx";
import { existsSync } from "node:fs";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot, toolVersion } from "./lib/app.js";
import { extUsage, type RootfsInput } from "./lib/inputs.js";
import { runWithIo, type IoCounts } from "./lib/process.js";
import { fmtGiB, log, seriesRow, SERIES_HEADERS, table } from "./lib/report.js";
import { ratio, series, type Series } from "./lib/stats.js";
import { settle } from "./build-image.js";

const FEATURES = "none,has_journal,ext_attr,resize_inode,dir_index,filetype,extent,flex_bg,sparse_super,large_file,huge_file,dir_nlink,extra_isize,64bit,metadata_csum,metadata_csum_seed";

export interface MakeExt4Result {
  rootfs: RootfsInput;
  e2fsprogs: string;
  script: Series;
  cpA: Series;
  cpASync: Series;
  /** reference: the recipe without a tarball, a staging copy then mke2fs -d of it */
  staged: Series;
  scriptIo: IoCounts;
  cpIo: IoCounts;
  image: { apparentBytes: number; usedBytes: number; freeBytes: number };
}

/** PATH with an mke2fs that reads tarballs first, or null when there is none here. */
async function tarballPath(): Promise<string | null> {
  const ok = async (mke2fs: string) => /^mke2fs 1\.(4[8-9]|47\.([1-9]|\d\d))/m.test(await toolVersion(`${mke2fs} -V 2>&1`));
  if (await ok("mke2fs")) return process.env.PATH ?? "";
  const dir = process.env.SHIMBOOT_TEST_E2FSPROGS ?? join(repoRoot, ".cache/e2fsprogs-backports/bin");
  return existsSync(join(dir, "mke2fs")) && (await ok(join(dir, "mke2fs"))) ? `${dir}:${process.env.PATH ?? ""}` : null;
}

export async function benchMakeExt4(rootfs: RootfsInput, tmp: string, rounds: number): Promise<MakeExt4Result | string> {
  const PATH = await tarballPath();
  if (!PATH) return "skipped: no mke2fs >= 1.47.1 here (run test/tools/e2fsprogs-backports.sh, which unpacks bookworm-backports' e2fsprogs privately)";
  const env = { ...process.env, PATH, SOURCE_DATE_EPOCH: "1" };
  const e2fsprogs = await toolVersion(`PATH=${JSON.stringify(PATH)} mke2fs -V 2>&1`);
  // the tree's top-level entries stand for store paths; the skeleton holds their parent
  const skeleton = join(tmp, "skeleton");
  await mkdir(join(skeleton, rootfs.dir), { recursive: true });
  const paths = join(tmp, "paths");
  await writeFile(paths, `${join(rootfs.dir, "data")}\n${join(rootfs.dir, "sbin")}\n`);
  const img = join(tmp, "make-ext4.img");
  const copy = join(tmp, "copy-tree");
  const argv = ["bash", join(repoRoot, "nix/rootfs/make-ext4.sh"), img, "bench", "11111111-2222-4333-8444-555555555555", "66666666-7777-4888-8999-000000000000", FEATURES, skeleton, paths];

  log(`make-ext4.sh (${e2fsprogs}): warming the page cache`);
  await $`cp -a ${rootfs.dir} ${copy}`;
  await rm(copy, { recursive: true, force: true });
  const times = { script: [] as number[], cpA: [] as number[], cpASync: [] as number[], staged: [] as number[] };
  const stagedImg = join(tmp, "staged.img");
  // the same file system from a staging copy of the tree (mke2fs -d DIR): what a pass more buys
  const staged = ["bash", "-c", 'cp -a "$0" "$1" && mke2fs -q -F -t ext4 -b 4096 -I 256 -m 0 -O "$2" -E lazy_itable_init=0,lazy_journal_init=0 -d "$1" "$3" "$4"', rootfs.dir, copy, FEATURES, stagedImg, "0"];
  let scriptIo: IoCounts | null = null;
  let cpIo: IoCounts | null = null;
  let image: MakeExt4Result["image"] | null = null;
  for (let i = 0; i < rounds; i++) {
    log(`make-ext4.sh: round ${i + 1}/${rounds}: make-ext4.sh, cp -a + sync, cp -a`);
    await settle();
    const s = await runWithIo(argv, tmp, env);
    times.script.push(s.wallMs);
    scriptIo ??= s.io;
    if (!image) {
      const u = (await extUsage(img))!;
      image = { apparentBytes: (await stat(img)).size, usedBytes: (u.blockCount - u.freeBlocks) * u.blockSize, freeBytes: u.freeBlocks * u.blockSize };
    }
    await rm(img, { force: true });
    await settle();
    const c = await runWithIo(["bash", "-c", 'cp -a "$0" "$1" && sync -f "$1"', rootfs.dir, copy], tmp);
    times.cpASync.push(c.wallMs);
    cpIo ??= c.io;
    await rm(copy, { recursive: true, force: true });
    await settle();
    times.cpA.push((await runWithIo(["cp", "-a", rootfs.dir, copy], tmp)).wallMs);
    await rm(copy, { recursive: true, force: true });
    await settle();
    staged[7] = String(Math.ceil(image.apparentBytes / 4096)); // the same size as the script's image
    times.staged.push((await runWithIo(staged, tmp, env)).wallMs);
    await rm(copy, { recursive: true, force: true });
    await rm(stagedImg, { force: true });
  }
  await rm(skeleton, { recursive: true, force: true });
  return { rootfs, e2fsprogs, script: series(times.script), cpA: series(times.cpA), cpASync: series(times.cpASync), staged: series(times.staged), scriptIo: scriptIo!, cpIo: cpIo!, image: image! };
}

export function reportMakeExt4(m: MakeExt4Result | string): string {
  const head = "## nix/rootfs/make-ext4.sh on the 1 GiB tree (the Nix rootfs builder's script)";
  if (typeof m === "string") return [head, "", m, ""].join("\n");
  const d = m.rootfs.dataBytes;
  const x = (b: number) => `${fmtGiB(b)} (${(b / d).toFixed(2)}×)`;
  return [
    head,
    "",
    `${m.rootfs.files} files, ${fmtGiB(d)} of data; ${m.e2fsprogs}. The image: ${fmtGiB(m.image.apparentBytes)}, ${fmtGiB(m.image.usedBytes)} used, ${fmtGiB(m.image.freeBytes)} free (sized beforehand, no resize).`,
    "",
    table(SERIES_HEADERS, [
      seriesRow("reference: cp -a TREE + sync -f (durable)", m.cpASync, "1.00×"),
      seriesRow("make-ext4.sh TREE → ext4 image (mke2fs fsyncs)", m.script, `${ratio(m.script, m.cpASync)}× the durable copy`),
      seriesRow("reference: cp -a TREE alone (not durable)", m.cpA, `make-ext4.sh = ${ratio(m.script, m.cpA)}× this`),
      seriesRow("reference: cp -a into a staging tree, then mke2fs -d of it (one pass more)", m.staged, `make-ext4.sh = ${ratio(m.script, m.staged)}× this`),
    ]),
    "",
    table(["bytes moved (× the tree's data)", "make-ext4.sh", "cp -a + sync"], [
      ["written to storage (write_bytes)", x(m.scriptIo.writeBytes), x(m.cpIo.writeBytes)],
      ["read from storage (read_bytes; page cache warm)", x(m.scriptIo.readBytes), x(m.cpIo.readBytes)],
      ["through read() (rchar: files and the tar pipe)", x(m.scriptIo.rchar), x(m.cpIo.rchar)],
      ["through write() (wchar: the pipe and the image)", x(m.scriptIo.wchar), x(m.cpIo.wchar)],
    ]),
    "",
  ].join("\n");
}
