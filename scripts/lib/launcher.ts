// Tools are started by a small bash process, a fork server, not by node
// itself: libuv forks the whole node process for every spawn, and here that
// blocks the main thread 8–17 ms a tool (it grows with node's memory: 6 ms at
// 45 MiB, 11 ms at 93 MiB, 16 ms at 244 MiB), against under 1 ms to hand a
// request to bash. A build runs 15–30 tools.
//
// A request is a file of NUL-separated fields that bash reads with mapfile, so
// no argument or environment value is ever parsed as shell code, and `env -i`
// gives the tool exactly the environment asked for. Each tool's output goes to
// files in a private directory, read when it exits. The server and every tool
// it starts share one process group, killed as a whole on exit or Ctrl-C.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { basename, join } from "node:path";
import { UserError } from "./errors.js";
import { trackProcessGroup } from "./cleanup.js";
import { makePrivateDirSync } from "./workdir.js";

/** bash ≥ 4.4 (mapfile -d); "ready" first, then one "pid ID N" and one "exit ID STATUS" line per request. */
const SERVER = `
((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 404)) || exit 3
dir=$1 env=$2 rm=$3
printf 'ready\\n'
while IFS= read -r id; do
  mapfile -d '' -t f < "$dir/$id.req" || { printf 'exit %s 127\\n' "$id"; continue; }
  n=\${f[5]}
  {
    (
      exec <"\${f[1]}" >"\${f[2]}" || exit 127
      [[ -z \${f[3]} ]] || exec 2>"\${f[3]}" || exit 127
      cd -- "\${f[0]}" && ulimit -c 0 || exit 127
      [[ -z \${f[4]} ]] || ulimit -f "\${f[4]}" || exit 127
      exec "$env" -i "\${f[@]:6:n}" "\${f[@]:6+n}"
    ) &
    printf 'pid %s %d\\n' "$id" $!
    wait $! 2>/dev/null # bash would print a line of its own for a tool a signal ended (SIGXFSZ past maxFileBytes, SIGTERM on abort)
    printf 'exit %s %d\\n' "$id" $?
  } &
done
# node is gone (stdin closed) without removing the directory: it was killed
wait
exec "$rm" -rf -- "$dir"
`;

export interface LaunchRequest {
  /** absolute path of the tool; must not contain "=" (env would read it as an assignment) */
  path: string;
  argv: string[];
  /** the tool's whole environment */
  env: Record<string, string>;
  cwd: string;
  input?: string | Buffer;
  /** false: the tool writes to our stderr */
  captureStderr: boolean;
  /** false: its stdout goes to /dev/null */
  captureStdout: boolean;
  /** bound on every file the tool writes, stdout included (ulimit -f; the tool dies of SIGXFSZ past it) */
  maxFileBytes?: number;
  signal?: AbortSignal;
}

export interface Launched {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

interface Pending {
  req: LaunchRequest;
  out: string;
  err: string | null;
  /** every file of the request, removed once it is done */
  files: string[];
  resolve(r: Launched): void;
  reject(e: Error): void;
  pid?: number;
  done: boolean;
  unlisten(): void;
}

const signalNames = new Map(Object.entries(constants.signals).map(([name, n]) => [n as number, name as NodeJS.Signals]));

/**
 * bash's status for a waited-for job: 128+N when signal N killed it (a tool
 * that exits 128+N itself reads the same; no tool shimboot runs does).
 */
function decodeStatus(status: number): Pick<Launched, "exitCode" | "signal"> {
  const sig = status > 128 ? signalNames.get(status - 128) : undefined;
  return sig ? { exitCode: null, signal: sig } : { exitCode: status, signal: null };
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error("The operation was aborted", { cause: signal.reason }), { name: "AbortError", code: "ABORT_ERR" });
}

class Launcher {
  private readonly dir: string;
  private readonly child: ChildProcess;
  private readonly pending = new Map<string, Pending>();
  private next = 0;
  private buffered = "";
  private ready = false;
  private ended = false;
  /** whether the server ever said it was ready (a bash too old never does) */
  get wasReady(): boolean {
    return this.ready;
  }
  /** set when the server is gone: requests it never read are handed back */
  onGone: ((unstarted: Pending[]) => void) | null = null;

  constructor(bash: string, env: string, rm: string) {
    this.dir = makePrivateDirSync("shimboot-tools-").path;
    this.child = spawn(bash, ["--noprofile", "--norc", "-c", SERVER, "shimboot-launcher", this.dir, env, rm], { stdio: ["pipe", "pipe", "inherit"], env: {}, detached: true });
    trackProcessGroup(this.child);
    this.child.unref();
    (this.child.stdin as unknown as { unref(): void }).unref();
    this.refs(false);
    this.child.stdin!.on("error", () => {});
    this.child.stdout!.setEncoding("utf8").on("data", (s: string) => this.lines(s));
    this.child.once("error", () => this.gone());
    // the end of its output is the end of the server: its exit may be seen later, or, with
    // the process handle unref'd, never before node would quit with the request unsettled
    this.child.stdout!.once("close", () => this.gone());
    this.child.once("close", () => this.gone());
  }

  /** While a tool runs, its server keeps node alive; an idle one does not. */
  private refs(on: boolean) {
    const out = this.child.stdout as unknown as { ref(): void; unref(): void };
    if (on) out.ref();
    else out.unref();
  }

  run(req: LaunchRequest): Promise<Launched> {
    return new Promise((resolve, reject) => {
      if (req.signal?.aborted) return reject(abortError(req.signal));
      const id = String(this.next++);
      const f = (ext: string) => join(this.dir, `${id}.${ext}`);
      const out = req.captureStdout ? f("out") : "/dev/null";
      const err = req.captureStderr ? f("err") : null;
      const files = [f("req"), ...(req.captureStdout ? [out] : []), ...(err ? [err] : [])];
      const stdin = req.input === undefined ? "/dev/null" : f("in");
      if (req.input !== undefined) files.push(stdin);
      // ulimit -f counts 1 KiB blocks; one more lets the caller see that the bound was passed
      const limit = req.maxFileBytes === undefined ? "" : String(Math.ceil(req.maxFileBytes / 1024) + 1);
      const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
      const fields = [req.cwd, stdin, out, err ?? "", limit, String(env.length), ...env, req.path, ...req.argv];
      try {
        if (req.input !== undefined) writeFileSync(stdin, req.input, { mode: 0o600 });
        writeFileSync(f("req"), fields.join("\0") + "\0", { mode: 0o600 });
      } catch (e) {
        for (const file of files) rmSync(file, { force: true });
        const code = (e as NodeJS.ErrnoException).code ?? String(e);
        return reject(new UserError(`${this.dir} (in TMPDIR)`, `cannot write the request to run ${basename(req.path)} (${code})`, "free some space in TMPDIR, or set TMPDIR to another directory"));
      }
      const onAbort = () => this.abort(id);
      req.signal?.addEventListener("abort", onAbort, { once: true });
      const p: Pending = { req, out, err, files, resolve, reject, done: false, unlisten: () => req.signal?.removeEventListener("abort", onAbort) };
      this.pending.set(id, p);
      this.refs(true);
      this.child.stdin!.write(`${id}\n`);
    });
  }

  private abort(id: string) {
    const p = this.pending.get(id);
    if (!p || p.done) return;
    if (p.pid) kill(p.pid, "SIGTERM");
    p.done = true; // its exit line still comes, and removes its files
    p.reject(abortError(p.req.signal!));
  }

  private lines(s: string) {
    this.buffered += s;
    let nl: number;
    while ((nl = this.buffered.indexOf("\n")) >= 0) {
      const [kind, id, value] = this.buffered.slice(0, nl).split(" ");
      this.buffered = this.buffered.slice(nl + 1);
      if (kind === "ready") this.ready = true;
      else if (kind === "pid") this.started(id!, Number(value));
      else if (kind === "exit") this.exited(id!, Number(value));
    }
  }

  private started(id: string, pid: number) {
    const p = this.pending.get(id);
    if (!p) return;
    p.pid = pid;
    if (p.done) kill(pid, "SIGTERM"); // aborted before it started
  }

  private exited(id: string, status: number) {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.unlisten();
    if (this.pending.size === 0) this.refs(false);
    try {
      if (p.done) return;
      p.done = true;
      p.resolve({ ...decodeStatus(status), stdout: p.req.captureStdout ? readFileSync(p.out) : Buffer.alloc(0), stderr: p.err ? readFileSync(p.err) : Buffer.alloc(0) });
    } catch (e) {
      p.reject(e as Error);
    } finally {
      for (const file of p.files) rmSync(file, { force: true });
    }
  }

  private gone() {
    if (this.ended) return;
    this.ended = true;
    const unstarted = this.ready ? [] : [...this.pending.values()];
    for (const p of this.pending.values()) {
      if (this.ready && !p.done) p.reject(new Error(`tool launcher (bash) exited while ${p.req.path} ran`));
      for (const file of p.files) rmSync(file, { force: true });
    }
    this.pending.clear();
    this.onGone?.(unstarted);
  }
}

function kill(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

let launcher: Launcher | null = null;
let unusable = false;

/**
 * Runs a tool through the fork server, or returns null when there is none
 * (no bash ≥ 4.4, env or rm on PATH): the caller then spawns the tool itself.
 */
export function launch(req: LaunchRequest, locate: (tool: string) => string | null, direct: (req: LaunchRequest) => Promise<Launched>): Promise<Launched> | null {
  if (req.path.includes("=")) return null;
  return server(locate, direct)?.run(req) ?? null;
}

/**
 * Starts the fork server ahead of the first tool, so that bash's start-up
 * (~40 ms here) runs while node still reads its inputs.
 */
export function startLauncher(locate: (tool: string) => string | null, direct: (req: LaunchRequest) => Promise<Launched>): void {
  server(locate, direct);
}

function server(locate: (tool: string) => string | null, direct: (req: LaunchRequest) => Promise<Launched>): Launcher | null {
  if (unusable) return null;
  if (launcher) return launcher;
  const [bash, env, rm] = [locate("bash"), locate("env"), locate("rm")];
  if (!bash || !env || !rm || env.includes("=")) {
    unusable = true;
    return null;
  }
  let l: Launcher;
  try {
    l = new Launcher(bash, env, rm);
  } catch {
    // no private directory for its files (TMPDIR unwritable): what needs one says so itself
    unusable = true;
    return null;
  }
  l.onGone = (unstarted) => {
    if (launcher === l) launcher = null;
    if (!l.wasReady) unusable = true; // it never became ready: bash too old
    for (const p of unstarted) direct(p.req).then(p.resolve, p.reject);
  };
  return (launcher = l);
}
