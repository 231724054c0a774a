// Where a build's time goes: one build with every tool wrapped on PATH (each
// call's start and end logged) and its progress lines timestamped as they
// arrive (script(1) gives it a terminal), grouped into the build's steps.
import { $ } from "zx";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fmtS, table } from "./lib/report.js";
import { sec } from "./lib/stats.js";

const WRAPPED_TOOLS = ["cgpt", "futility", "debugfs", "dumpe2fs", "e2image", "resize2fs", "e2fsck", "fsck.ext4", "mke2fs", "mkfs.ext4", "tune2fs", "xz", "zstd", "lz4", "bzip2", "lzop", "gzip", "depmod", "modinfo", "fakeroot", "sync", "cpio", "sha256sum", "nix-instantiate", "xfs_io", "blockdev"];

interface ToolCall {
  tool: string;
  start: number; // ms since epoch
  end: number;
  args: string;
}

export interface Phase {
  step: string;
  seconds: number;
  toolSeconds: number;
  /** phase wall time not covered by any tool process (Node's own work) */
  nodeSeconds: number;
  tools: { tool: string; calls: number; seconds: number }[];
}

export interface Profile {
  name: string;
  wallSeconds: number;
  phases: Phase[];
  /** child processes per tool, over the whole build */
  processes: Record<string, number>;
  slowestCalls: { tool: string; seconds: number; args: string }[];
}

/** Wrappers on PATH that log each tool's start and end ($EPOCHREALTIME: no forks). */
async function makeWrappers(dir: string, logFile: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const tool of WRAPPED_TOOLS) {
    const real = (await $`command -v ${tool}`.nothrow()).stdout.trim();
    if (!real || !real.startsWith("/")) continue;
    await writeFile(
      join(dir, tool),
      `#!/bin/bash\ns=$EPOCHREALTIME\n${JSON.stringify(real)} "$@"\nrc=$?\ne=$EPOCHREALTIME\na="$*"\nprintf '%s\\t%s\\t%s\\t%s\\n' ${tool} "$s" "$e" "\${a:0:160}" >> ${JSON.stringify(logFile)}\nexit $rc\n`,
    );
    await chmod(join(dir, tool), 0o755);
  }
}

function unionMs(intervals: [number, number][]): number {
  const s = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | null = null;
  for (const [a, b] of s) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `argv` (node and the CLI's build arguments) once, profiled. */
export async function profileRun(name: string, argv: string[], out: string, tmp: string): Promise<Profile> {
  const wrapDir = join(tmp, "wrappers");
  const logFile = join(tmp, `tools-${name.replace(/\W+/g, "-")}.log`);
  await makeWrappers(wrapDir, logFile);
  await rm(logFile, { force: true });
  const wall = () => performance.timeOrigin + performance.now();
  const marks: { t: number; step: string }[] = [];
  const t0 = wall();
  const child = spawn("script", ["-qfec", argv.map(shq).join(" "), "/dev/null"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PATH: `${wrapDir}:${process.env.PATH}` } });
  let text = "";
  createInterface({ input: child.stdout }).on("line", (line) => {
    text += line + "\n";
    const m = /\[\s*[\d.]+s\] (.*)$/.exec(line.replace(/\r/g, ""));
    if (m) marks.push({ t: wall(), step: m[1]! });
  });
  const code = await new Promise<number | null>((res, rej) => {
    child.on("error", rej);
    child.on("exit", (c) => res(c));
  });
  const t1 = wall();
  await rm(out, { force: true });
  if (code !== 0) throw new Error(`profiled build failed (exit ${code}):\n${text}`);
  if (marks.length === 0) throw new Error(`profiled build printed no progress (is script(1) giving it a terminal?):\n${text}`);

  const calls: ToolCall[] = (existsSync(logFile) ? readFileSync(logFile, "utf8") : "")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [tool, s, e, args] = l.split("\t");
      return { tool: tool!, start: Number(s) * 1000, end: Number(e) * 1000, args: args ?? "" };
    });
  const done = marks.find((m) => m.step.startsWith("done"))?.t ?? t1;
  const bounds = [{ t: t0, step: "start-up: node, module load, options" }, ...marks.filter((m) => !m.step.startsWith("done")), { t: done, step: "after done: close, remove work dir, exit" }];
  const phases: Phase[] = bounds.map((b, i) => {
    const to = i + 1 < bounds.length ? bounds[i + 1]!.t : t1;
    const inside = calls.filter((c) => c.start >= b.t && c.start < to);
    const byTool = new Map<string, { calls: number; ms: number }>();
    for (const c of inside) {
      const x = byTool.get(c.tool) ?? { calls: 0, ms: 0 };
      x.calls++;
      x.ms += c.end - c.start;
      byTool.set(c.tool, x);
    }
    const toolMs = unionMs(inside.map((c) => [Math.max(c.start, b.t), Math.min(c.end, to)]));
    return {
      step: b.step,
      seconds: +sec(to - b.t).toFixed(3),
      toolSeconds: +sec(toolMs).toFixed(3),
      nodeSeconds: +sec(Math.max(0, to - b.t - toolMs)).toFixed(3),
      tools: [...byTool].map(([tool, x]) => ({ tool, calls: x.calls, seconds: +sec(x.ms).toFixed(3) })).sort((a, c) => c.seconds - a.seconds),
    };
  });
  const processes: Record<string, number> = {};
  for (const c of calls) processes[c.tool] = (processes[c.tool] ?? 0) + 1;
  const slowestCalls = [...calls].sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, 8).map((c) => ({ tool: c.tool, seconds: +sec(c.end - c.start).toFixed(3), args: c.args }));
  return { name, wallSeconds: +sec(t1 - t0).toFixed(3), phases, processes, slowestCalls };
}

export const processCount = (p: Profile) => Object.values(p.processes).reduce((a, b) => a + b, 0);

export function reportProfile(p: Profile): string {
  const procs = Object.entries(p.processes).sort((a, b) => b[1] - a[1]).map(([t, n]) => `${n} ${t}`).join(", ");
  return [
    `### Where the time goes: one profiled ${p.name} (${fmtS(p.wallSeconds)} wall; tools wrapped on PATH, so a little slower than unprofiled)`,
    "",
    table(
      ["step", "wall", "in tools", "in node", "tools (calls, summed time)"],
      p.phases.map((ph) => [ph.step, fmtS(ph.seconds), fmtS(ph.toolSeconds), fmtS(ph.nodeSeconds), ph.tools.map((t) => `${t.tool}×${t.calls} ${fmtS(t.seconds)}`).join(", ")]),
    ),
    "",
    `Child processes: ${processCount(p)} (${procs || "none"}).`,
    "",
    "Slowest tool calls: " + p.slowestCalls.map((c) => `${c.tool} ${fmtS(c.seconds)} (${c.args.slice(0, 70)})`).join("; "),
    "",
  ].join("\n");
}
