// Independent reads of a built image with the vendor tools: cgpt, debugfs,
// dumpe2fs, e2fsck. Tests use these, never the code under test, to check it.
import { $ } from "zx";

$.quiet = true;

export interface GptEntry {
  index: number;
  start: number;
  size: number;
  label: string;
  type: string;
}

export async function gptEntries(img: string): Promise<GptEntry[]> {
  const rows = (await $`cgpt show -q -n ${img}`).stdout.trim().split("\n");
  const out: GptEntry[] = [];
  for (const row of rows) {
    const [start, size, index] = row.trim().split(/\s+/).map(Number) as [number, number, number];
    const label = (await $`cgpt show -i ${index} -l ${img}`).stdout.replace(/\n$/, "");
    const type = (await $`cgpt show -i ${index} -t ${img}`).stdout.trim().toUpperCase();
    out.push({ index, start, size, label, type });
  }
  return out;
}

export async function partitionSpec(img: string, index: number): Promise<string> {
  const start = Number((await $`cgpt show -i ${index} -b ${img}`).stdout);
  return `${img}?offset=${start * 512}`;
}

export async function debugfs(img: string, index: number, request: string): Promise<string> {
  return (await $`debugfs -R ${request} ${await partitionSpec(img, index)}`).stdout;
}

export async function catFile(img: string, index: number, path: string): Promise<string> {
  return debugfs(img, index, `cat "${path}"`);
}

/** debugfs stat fields of one path, or null when it does not exist. */
export async function statPath(img: string, index: number, path: string) {
  const r = await $`debugfs -R ${`stat "${path}"`} ${await partitionSpec(img, index)}`.nothrow();
  if (/File not found/.test(r.stderr)) return null;
  const text = r.stdout;
  const m = /Type: (.+?)\s+Mode:\s+(\d+)/.exec(text);
  const owner = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(text);
  const dev = /Device major\/minor number: (\d+):(\d+)/.exec(text);
  const ctime = /ctime: 0x([0-9a-f]+)/.exec(text);
  return {
    type: m?.[1] ?? "",
    mode: parseInt(m?.[2] ?? "0", 8),
    uid: Number(owner?.[1]),
    gid: Number(owner?.[2]),
    device: dev ? { major: Number(dev[1]), minor: Number(dev[2]) } : null,
    ctime: ctime ? parseInt(ctime[1]!, 16) : null,
    text,
  };
}

export async function features(img: string, index: number): Promise<string[]> {
  // debugfs, not dumpe2fs: dumpe2fs >= 1.47.2 refuses a ?offset= spec
  const out = (await $`debugfs -R ${"stats -h"} ${await partitionSpec(img, index)}`).stdout;
  return (/^Filesystem features:\s*(.*)$/m.exec(out)?.[1] ?? "").trim().split(/\s+/);
}

export async function fsck(img: string, index: number): Promise<{ code: number; output: string }> {
  const r = await $`e2fsck -fn ${await partitionSpec(img, index)}`.nothrow();
  return { code: r.exitCode ?? -1, output: r.stdout + r.stderr };
}

export async function sha256(path: string): Promise<string> {
  return (await $`sha256sum ${path}`).stdout.split(" ")[0]!;
}
