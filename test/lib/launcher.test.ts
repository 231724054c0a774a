// Tools started through the fork server (scripts/lib/launcher.ts) behave as
// if node had spawned them: the same argument bytes, environment, input,
// exit status, bounds and abort; nothing of theirs is left behind.
import { describe, it, expect } from "vitest";
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { run } from "../../scripts/lib/exec.js";

const execFileP = promisify(execFile);
// the compiled module, as the CLI runs it
const EXEC_JS = new URL("../../dist/scripts/lib/exec.js", import.meta.url).pathname;

/** Runs `body` (an ES module using exec.js's `run`) in a fresh node with its own TMPDIR. */
async function inFreshNode(body: string, env: Record<string, string> = {}) {
  const tmp = mkdtempSync(join(tmpdir(), "launcher-test-"));
  try {
    const script = `import { run } from ${JSON.stringify(EXEC_JS)};\n${body}`;
    const r = await execFileP(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, TMPDIR: tmp, ...env }, timeout: 20_000 });
    return { stdout: r.stdout, left: readdirSync(tmp) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const PARENT = 'cat /proc/$PPID/comm';

describe("tools started by the fork server", () => {
  it("are started by bash, not forked from node", async () => {
    expect((await run("sh", ["-c", PARENT])).stdout).toBe("bash\n");
  });

  it("get every argument byte for byte, empty ones and newlines included", async () => {
    const args = ["", "-n", "a b", "$HOME", "'\"", "x\ny", "\\", "ünï", "--", "*"];
    const r = await run("node", ["-e", "process.stdout.write(JSON.stringify(process.argv.slice(1)))", ...args]);
    expect(JSON.parse(r.stdout)).toEqual(args);
  });

  it("get exactly the environment asked for", async () => {
    const r = await run("node", ["-e", "process.stdout.write(JSON.stringify(process.env))"], { env: { SHIMBOOT_V: "a=b\nc", TZ: "Asia/Tokyo" } });
    const env = JSON.parse(r.stdout) as Record<string, string>;
    const expected = { ...Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)), LC_ALL: "C", SHIMBOOT_V: "a=b\nc", TZ: "Asia/Tokyo" };
    expect(env).toEqual(expected);
  });

  it("read binary input and return binary output intact", async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const r = await run("od", ["-An", "-v", "-tx1"], { input: bytes });
    expect(r.stdout.split(/\s+/).filter(Boolean)).toEqual([...bytes].map((b) => b.toString(16).padStart(2, "0")));
  });

  it("run in the directory asked for", async () => {
    expect((await run("pwd", [], { cwd: "/usr" })).stdout).toBe("/usr\n");
  });

  it("print into nothing when their output is not wanted, and still report errors", async () => {
    const r = await run("sh", ["-c", "echo out; echo err >&2; exit 4"], { stdout: "ignore" });
    expect(r).toMatchObject({ exitCode: 4, stdout: "", stderr: "err\n" });
  });

  it("report their own exit status", async () => {
    expect((await run("sh", ["-c", "exit 7"])).exitCode).toBe(7);
  });

  it("keep the default action of SIGINT (Ctrl-C stops them)", async () => {
    const r = await run("sh", ["-c", "grep SigIgn /proc/self/status"]);
    const ignored = BigInt("0x" + r.stdout.split(/\s+/)[1]);
    expect(ignored & (1n << 1n)).toBe(0n); // bit 1: signal 2, SIGINT
  });

  it("are stopped past maxStdout, and the caller sees that it was passed", async () => {
    const r = await run("yes", [], { maxStdout: 100_000 });
    expect(r.stdout.length).toBeGreaterThan(100_000);
    expect(r.stdout.length).toBeLessThan(200_000);
    expect(r.exitCode).toBeNull();
  });

  it("run side by side, each with its own output", async () => {
    const rs = await Promise.all(Array.from({ length: 24 }, (_, i) => run("sh", ["-c", `sleep 0.0$((${i} % 10)); echo ${i}; echo e${i} >&2`])));
    rs.forEach((r, i) => expect(r).toMatchObject({ exitCode: 0, stdout: `${i}\n`, stderr: `e${i}\n` }));
  });

  it("leave no line of bash's own on stderr when a signal ends them (past maxStdout, aborted)", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "launcher-quiet-"));
    try {
      const script = `import { run } from ${JSON.stringify(EXEC_JS)};
const r = await run("yes", [], { maxStdout: 100000 });
const stop = new AbortController();
const slept = run("sleep", ["30"], { signal: stop.signal });
await new Promise((r) => setTimeout(r, 300));
stop.abort();
await slept.catch(() => {});
await run("true", []); // the aborted one's exit line has come back by now
process.stdout.write(String(r.exitCode));`;
      const r = await execFileP(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, TMPDIR: tmp }, timeout: 20_000 });
      expect({ stdout: r.stdout, stderr: r.stderr }).toEqual({ stdout: "null", stderr: "" });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("are killed when aborted before the server has started them", async () => {
    const stop = new AbortController();
    const r = run("sleep", ["30"], { signal: stop.signal });
    stop.abort();
    await expect(r).rejects.toMatchObject({ name: "AbortError" });
  });

  it("leave no file behind, and node exits once they are done", async () => {
    const r = await inFreshNode(`const rs = await Promise.all([run("echo", ["one"]), run("cat", [], { input: "two" })]);\nprocess.stdout.write(rs.map((r) => r.stdout).join(""));`);
    expect(r).toEqual({ stdout: "one\ntwo", left: [] });
  });

  it("leave no directory behind when node is killed without cleaning up", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "launcher-killed-"));
    try {
      const script = `import { run } from ${JSON.stringify(EXEC_JS)};\nawait run("true", []);\nprocess.kill(process.pid, "SIGKILL");`;
      await execFileP(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, TMPDIR: tmp } }).catch(() => {});
      for (let i = 0; i < 50 && readdirSync(tmp).length; i++) await new Promise((r) => setTimeout(r, 100));
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("are spawned by node itself where no usable bash is on PATH", async () => {
    const dir = mkdtempSync(join(tmpdir(), "launcher-old-bash-"));
    try {
      writeFileSync(join(dir, "bash"), "#!/bin/sh\nexit 3\n"); // as a bash older than 4.4 ends the server
      chmodSync(join(dir, "bash"), 0o755);
      const r = await inFreshNode(`process.stdout.write((await run("sh", ["-c", ${JSON.stringify(PARENT)}])).stdout);`, { PATH: `${dir}:${process.env.PATH}` });
      expect(r).toEqual({ stdout: "node\n", left: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("are started by a server started ahead of them", async () => {
    const r = await inFreshNode(`const { prepareTools } = await import(${JSON.stringify(EXEC_JS)});\nprepareTools();\nawait new Promise((r) => setTimeout(r, 300));\nprocess.stdout.write((await run("sh", ["-c", ${JSON.stringify(PARENT)}])).stdout);`);
    expect(r).toEqual({ stdout: "bash\n", left: [] });
  });

  it("are spawned by node itself where a server started ahead of them found bash too old", async () => {
    const dir = mkdtempSync(join(tmpdir(), "launcher-old-bash-"));
    try {
      writeFileSync(join(dir, "bash"), "#!/bin/sh\nexit 3\n");
      chmodSync(join(dir, "bash"), 0o755);
      const body = `const { prepareTools } = await import(${JSON.stringify(EXEC_JS)});\nprepareTools();\nawait new Promise((r) => setTimeout(r, 300));\nprocess.stdout.write((await run("sh", ["-c", ${JSON.stringify(PARENT)}])).stdout);`;
      expect(await inFreshNode(body, { PATH: `${dir}:${process.env.PATH}` })).toEqual({ stdout: "node\n", left: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("are spawned by node itself when the server's output ends before its exit is seen", async () => {
    const dir = mkdtempSync(join(tmpdir(), "launcher-mute-bash-"));
    try {
      writeFileSync(join(dir, "bash"), "#!/bin/sh\nexec >&-\nsleep 5\nexit 3\n"); // the order a loaded machine may report
      chmodSync(join(dir, "bash"), 0o755);
      const r = await inFreshNode(`process.stdout.write((await run("sh", ["-c", ${JSON.stringify(PARENT)}])).stdout);`, { PATH: `${dir}:${process.env.PATH}` });
      expect(r).toEqual({ stdout: "node\n", left: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("are spawned by node itself where TMPDIR cannot hold their files", async () => {
    const r = await inFreshNode(`process.stdout.write((await run("sh", ["-c", ${JSON.stringify(PARENT)}])).stdout);`, { TMPDIR: "/nonexistent" });
    expect(r.stdout).toBe("node\n");
  });

  it("run from a directory whose name has an equals sign (env would read it as an assignment)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "launcher-eq-"));
    try {
      mkdirSync(join(dir, "a=b"));
      symlinkSync("/bin/echo", join(dir, "a=b", "shimboot-echo"));
      const r = await run(join(dir, "a=b", "shimboot-echo"), ["ok"]);
      expect(r.stdout).toBe("ok\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
