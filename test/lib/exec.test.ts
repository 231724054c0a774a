// The one way the CLI runs a tool: spawned directly, arguments passed as they
// are, output and exit status returned, a missing tool named with its package.
import { describe, it, expect } from "vitest";
import { run, runOk } from "../../scripts/lib/exec.js";
import { UserError } from "../../scripts/lib/errors.js";

describe("run", () => {
  it("passes arguments literally, with no shell to expand them", async () => {
    const r = await run("printf", ["%s|", "$HOME", "a b", "*", "`id`"]);
    expect(r.stdout).toBe("$HOME|a b|*|`id`|");
    expect(r.exitCode).toBe(0);
  });

  it("feeds input on stdin and returns stdout and stderr apart", async () => {
    const r = await run("sh", ["-c", "cat; echo oops >&2; exit 3"], { input: "hello" });
    expect(r).toMatchObject({ exitCode: 3, stdout: "hello", stderr: "oops\n" });
  });

  it("gives the tool an empty stdin when there is no input", async () => {
    expect((await run("cat", [])).stdout).toBe("");
  });

  it("adds environment variables to the caller's", async () => {
    const r = await run("sh", ["-c", 'printf %s "$SHIMBOOT_TEST_VAR:$PATH"'], { env: { SHIMBOOT_TEST_VAR: "x" } });
    expect(r.stdout).toBe(`x:${process.env.PATH}`);
  });

  it("reports a tool killed by a signal with no exit code", async () => {
    const r = await run("sh", ["-c", "kill -TERM $$"]);
    expect(r).toMatchObject({ exitCode: null, signal: "SIGTERM" });
  });

  it("kills the tool when its abort signal fires, and rejects", async () => {
    const stop = new AbortController();
    const started = Date.now();
    const r = run("sleep", ["30"], { signal: stop.signal });
    setTimeout(() => stop.abort(), 100);
    await expect(r).rejects.toMatchObject({ name: "AbortError" });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("names the package of a tool that is not on PATH", async () => {
    const saved = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      const e = await run("resize2fs", ["-V"]).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UserError);
      expect((e as UserError).format()).toMatch(/^resize2fs: required tool not found on PATH\n.*install e2fsprogs/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe("runOk", () => {
  it("turns a failure into an error that carries the tool's message", async () => {
    await expect(runOk("sh", ["-c", "echo broken >&2; exit 2"])).rejects.toThrow(/sh -c .* failed \(exit 2\): broken/);
  });
});
