// Running a measured command: wall time, the peak RSS of its largest process
// (GNU time %M) and, when asked, of its whole process tree (sampled: a scan
// of /proc every 50 ms costs CPU beside the run, so timed runs are not
// sampled), and the bytes it and its children read and wrote (/proc/PID/io
// of a waiting shell).
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { now } from "./stats.js";

const PAGE_KIB = 4; // /proc/PID/statm pages (x86_64, arm64 with 4 KiB pages)

export const haveGnuTime = existsSync("/usr/bin/time");

/** Sum of VmRSS over a process and all its descendants, in KiB. */
export function treeRssKiB(rootPid: number): number {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, "latin1");
      const ppid = Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* exited */
    }
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    try {
      total += Number(readFileSync(`/proc/${pid}/statm`, "latin1").split(" ")[1]) * PAGE_KIB;
    } catch {
      /* exited */
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

export interface RunOut {
  wallMs: number;
  /** GNU time %M: the largest RSS of any single process of the run (KiB) */
  maxRssKiB: number | null;
  /** largest sampled sum of RSS over the whole process tree (KiB), null when not sampled */
  treePeakKiB: number | null;
  stdout: string;
}

/** Runs `cmd args` to completion; a non-zero exit throws with its stderr. */
export async function runMeasured(cmd: string, args: string[], tmp: string, env: NodeJS.ProcessEnv = process.env, opts: { sampleTree?: boolean } = {}): Promise<RunOut> {
  const memFile = join(tmp, "maxrss.txt");
  await rm(memFile, { force: true });
  const argv = haveGnuTime ? ["/usr/bin/time", "-f", "%M", "-o", memFile, cmd, ...args] : [cmd, ...args];
  let stderr = "";
  let stdout = "";
  const t0 = now();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env });
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let peak = 0;
  const timer = opts.sampleTree
    ? setInterval(() => {
        if (child.pid) peak = Math.max(peak, treeRssKiB(child.pid));
      }, 50)
    : undefined;
  const code = await new Promise<number | null>((res, rej) => {
    child.on("error", rej);
    child.on("close", (c) => res(c));
  });
  const wallMs = now() - t0;
  clearInterval(timer);
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${stderr}`);
  const maxRssKiB = haveGnuTime ? Number((await readFile(memFile, "utf8")).trim().split("\n").pop()) : null;
  return { wallMs, maxRssKiB, treePeakKiB: opts.sampleTree ? peak : null, stdout };
}

export interface IoCounts {
  /** bytes passed through read()/write() and similar (page cache included) */
  rchar: number;
  wchar: number;
  /** bytes the block layer read for it / that it caused to be written */
  readBytes: number;
  writeBytes: number;
}

const IO_MARK = "--- /proc/io ---";

/**
 * Runs a command under a bash that waits for it, and reports, besides the
 * wall time, the I/O of the command and of every child it waited for (the
 * kernel adds a reaped child's counts to its parent's /proc/PID/io).
 */
export async function runWithIo(argv: string[], tmp: string, env: NodeJS.ProcessEnv = process.env): Promise<RunOut & { io: IoCounts }> {
  const wrapper = `"$@" || exit $?; echo ${JSON.stringify(IO_MARK)}; cat /proc/$$/io`;
  const r = await runMeasured("bash", ["-c", wrapper, "bash", ...argv], tmp, env);
  const [out, io = ""] = r.stdout.split(IO_MARK);
  const field = (k: string) => Number(new RegExp(`^${k}: (\\d+)$`, "m").exec(io)?.[1] ?? NaN);
  return { ...r, stdout: out ?? "", io: { rchar: field("rchar"), wchar: field("wchar"), readBytes: field("read_bytes"), writeBytes: field("write_bytes") } };
}
