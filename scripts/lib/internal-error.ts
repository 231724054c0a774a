// A bug of ours is reported in one line: what failed, where in the code, and
// the file that holds the full report (stack, cause chain, command line,
// versions) to attach to a bug report. The stack reaches the terminal only
// with --verbose (or VERBOSE=true).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "../version.js";
import { packageRoot } from "./package-root.js";

/** EX_SOFTWARE (sysexits.h): an internal software error. */
export const INTERNAL_ERROR_EXIT = 70;

const maps = new Map<string, SourceMap | null>();

/** The source map beside a bundled file (dist/shimboot.mjs.map), read only when a bug is reported. */
function sourceMapOf(file: string): SourceMap | null {
  if (!maps.has(file)) {
    try {
      maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8"))));
    } catch {
      maps.set(file, null);
    }
  }
  return maps.get(file)!;
}

/** Each frame of the bundle given as the TypeScript file and line it was built from. */
export function mapStack(stack: string): string {
  return stack.replace(/(?:file:\/\/)?(\/[^()\s]+\.mjs):(\d+):(\d+)/g, (frame, file: string, line: string, column: string) => {
    const e = sourceMapOf(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!e || !("originalSource" in e) || !e.originalSource) return frame;
    const source = e.originalSource.startsWith("file://") ? fileURLToPath(e.originalSource) : e.originalSource;
    return `${isAbsolute(source) ? source : resolve(dirname(file), source)}:${e.originalLine + 1}:${e.originalColumn + 1}`;
  });
}

function describe(e: unknown): string {
  const lines: string[] = [];
  for (let cur: unknown = e, depth = 0; cur !== undefined && depth < 8; depth++) {
    lines.push(cur instanceof Error ? (cur.stack ? mapStack(cur.stack) : `${cur.name}: ${cur.message}`) : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
    if (cur !== undefined) lines.push("caused by:");
  }
  return lines.join("\n");
}

/** The innermost frame of our own code, as `function (file:line)`. */
function whereInOurCode(e: unknown): string | null {
  if (!(e instanceof Error) || !e.stack) return null;
  const programRoot = packageRoot() ?? process.cwd();
  for (const line of mapStack(e.stack).split("\n").slice(1)) {
    const m = /at (?:(.+?) \()?(?:file:\/\/)?([^()\s]+):(\d+):\d+\)?$/.exec(line.trim());
    if (!m || m[2]!.includes(`${sep}node_modules${sep}`) || m[2]!.startsWith("node:")) continue;
    const file = relative(programRoot, m[2]!);
    if (file.startsWith("..")) continue;
    return `${m[1] ?? "<top>"} (${file}:${m[3]})`;
  }
  return null;
}

function writeLog(e: unknown, argv: string[]): string | null {
  try {
    const dir = mkdtempSync(join(tmpdir(), "shimboot-error-")); // private (0700), kept for the report
    const path = join(dir, "error.log");
    const report = [`shimboot ${VERSION}, node ${process.version}, ${process.platform}-${process.arch}`, `command: ${argv.slice(2).join(" ")}`, `cwd: ${process.cwd()}`, "", describe(e), ""].join("\n");
    writeFileSync(path, report, { mode: 0o600 });
    return path;
  } catch {
    return null;
  }
}

/** Prints the one line (and with `verbose` the stack), writes the log; returns the exit status. */
export function reportInternalError(e: unknown, argv: string[], verbose: boolean): number {
  const first = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.trim() || (e instanceof Error ? e.name : "unknown error");
  const where = whereInOurCode(e);
  const log = writeLog(e, argv);
  const tail = log ? `full report in ${log}` : "no report could be written";
  process.stderr.write(`shimboot: internal error (a bug in shimboot, please report it): ${first}${where ? ` [at ${where}]` : ""}; ${tail}\n`);
  if (verbose) process.stderr.write(describe(e) + "\n");
  return INTERNAL_ERROR_EXIT;
}

/** Every command's exit status, for --help and the README. */
export const EXIT_STATUS_HELP = `
Exit status:
  0    success (verify: every check passed)
  1    bad input: one line names the file and what is wrong (verify: a check failed)
  2    usage error: a missing, unknown or invalid option
  70   internal error: a bug in shimboot; one line, the full report in a file it names
  130  interrupted (Ctrl-C), 143 terminated: temporary files removed, nothing written`;
