// A bug of ours is one line: what failed, where, and the file with the full
// report; the stack trace reaches the terminal only with --verbose. Here a
// broken installation (the board table missing) stands in for a bug.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fixture } from "../fixtures/fixtures.js";
import { runCli } from "../helpers/cli.js";
import { makeRootfsDir, tempDir } from "../helpers/rootfs.js";

let t: Awaited<ReturnType<typeof tempDir>>;
let args: string[];
beforeAll(async () => {
  t = await tempDir();
  args = ["build", "--shim", await fixture("shim-x86"), "--rootfs", await makeRootfsDir(join(t.path, "tree")), "--out", join(t.path, "out.bin")];
});
afterAll(() => t.cleanup());

const broken = () => ({ SHIMBOOT_NIX_DIR: join(t.path, "no-such-nix-dir"), TMPDIR: t.path, VERBOSE: "" });

describe("an internal error", () => {
  it("is one line naming what failed, where in the code, and the report file, with exit status 70", async () => {
    const r = await runCli(args, { env: broken() });
    expect(r.code).toBe(70);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^shimboot: internal error \(a bug in shimboot, please report it\): nix-instantiate board-info\.nix failed: .* \[at loadBoardInfo \(scripts\/boards\.(js|ts):\d+\)\]; full report in \S+\/error\.log$/);
  });

  it("leaves the stack trace, the command line and the versions in the report, readable only by the user", async () => {
    const r = await runCli(args, { env: broken() });
    const log = /full report in (\S+)$/.exec(r.stderr.trim())![1]!;
    expect(log.startsWith(t.path)).toBe(true);
    const text = await readFile(log, "utf8");
    expect(text).toMatch(/^shimboot \d+\.\d+\.\d+, node v\d+/);
    expect(text).toContain(`command: ${args.join(" ")}`);
    expect(text).toMatch(/\n    at loadBoardInfo \(/);
    expect((await stat(log)).mode & 0o777).toBe(0o600);
  });

  it("prints the stack trace as well with --verbose", async () => {
    const r = await runCli([...args, "--verbose"], { env: broken() });
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/internal error .*\n(.|\n)*\n    at loadBoardInfo \(/);
  });

  it("has its exit status documented in --help, with the others", async () => {
    const r = await runCli(["build", "--help"]);
    expect(r.stdout).toMatch(/Exit status:\n  0 .*\n  1 .*\n  2 .*\n  70 .*internal error.*\n  130 /);
  });
});
