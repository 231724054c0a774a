// A bug of ours is one line: what failed, where, and the file with the full
// report; the stack trace reaches the terminal only with --verbose. Here an
// mke2fs that finds no room for the planned content stands in for a bug (a
// file system planned too small is ours, never the user's).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fixture } from "../fixtures/fixtures.js";
import { runCli } from "../helpers/cli.js";
import { makeRootfsDir, tempDir } from "../helpers/rootfs.js";

let t: Awaited<ReturnType<typeof tempDir>>;
let args: string[];
beforeAll(async () => {
  t = await tempDir();
  const bin = join(t.path, "bin");
  await mkdir(bin);
  await writeFile(join(bin, "mke2fs"), "#!/bin/sh\necho 'mke2fs: Could not allocate block in ext2 filesystem while populating file system' >&2\nexit 1\n");
  await chmod(join(bin, "mke2fs"), 0o755);
  args = ["build", "--shim", await fixture("shim-x86"), "--rootfs", await makeRootfsDir(join(t.path, "tree")), "--out", join(t.path, "out.bin")];
});
afterAll(() => t.cleanup());

const broken = () => ({ PATH: `${join(t.path, "bin")}:${process.env.PATH}`, TMPDIR: t.path, VERBOSE: "" });

describe("an internal error", () => {
  it("is one line naming what failed, where in the code, and the report file, with exit status 70", async () => {
    const r = await runCli(args, { env: broken() });
    expect(r.code).toBe(70);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^shimboot: internal error \(a bug in shimboot, please report it\): planned \S+ file system \(\d+ bytes\) is too small for its content: mke2fs: Could not allocate block .* \[at makeExtFs \(scripts\/write\/extfs\.ts:\d+\)\]; full report in \S+\/error\.log$/);
  });

  it("leaves the stack trace, the command line and the versions in the report, readable only by the user", async () => {
    const r = await runCli(args, { env: broken() });
    const log = /full report in (\S+)$/.exec(r.stderr.trim())![1]!;
    expect(log.startsWith(t.path)).toBe(true);
    const text = await readFile(log, "utf8");
    expect(text).toMatch(/^shimboot \d+\.\d+\.\d+, node v\d+/);
    expect(text).toContain(`command: ${args.join(" ")}`);
    expect(text).toMatch(/\n    at makeExtFs \(\/\S+\/scripts\/write\/extfs\.ts:\d+:\d+\)/); // the bundle's frames, by its source map
    expect((await stat(log)).mode & 0o777).toBe(0o600);
  });

  it("prints the stack trace as well with --verbose", async () => {
    const r = await runCli([...args, "--verbose"], { env: broken() });
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/internal error .*\n(.|\n)*\n    at makeExtFs \(/);
  });

  it("ends the steps running beside the failed one before it cleans up, and leaves only the report behind", async () => {
    const r = await runCli(args, { env: broken() });
    expect(r.stderr).toMatch(/too small for its content/);
    const left = (await readdir(t.path)).filter((n) => !["bin", "tree"].includes(n) && !n.startsWith("shimboot-error-"));
    expect(left).toEqual([]);
  });

  it("has its exit status documented in --help, with the others", async () => {
    const r = await runCli(["build", "--help"]);
    expect(r.stdout).toMatch(/Exit status:\n  0 .*\n  1 .*\n  2 .*\n  70 .*internal error.*\n  130 /);
  });
});
