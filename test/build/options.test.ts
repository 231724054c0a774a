// Options come from flags or the environment (flags win), are validated, and
// --dry-run prints the plan without writing anything.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fixture } from "../fixtures/fixtures.js";
import { runCli } from "../helpers/cli.js";
import { makeRootfsDir, tempDir } from "../helpers/rootfs.js";
import { resolveBuildOptions } from "../../scripts/commands/build-options.js";
import { UserError } from "../../scripts/lib/errors.js";

let t: Awaited<ReturnType<typeof tempDir>>;
let rootfs: string;
beforeAll(async () => {
  t = await tempDir();
  rootfs = await makeRootfsDir(join(t.path, "rootfs"));
});
afterAll(() => t.cleanup());

const base = { shim: "s.bin", rootfs: "r", out: "o.bin" };
const usage = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    return (e as UserError).message;
  }
  throw new Error("expected a usage error");
};

describe("build options", () => {
  it("takes every input from the environment variables the old scripts used", () => {
    const o = resolveBuildOptions({}, { SHIM_FILE: "a.bin", RECOVERY_FILE: "r.bin", ROOTFS_PATH: "root", OUTPUT_PATH: "out.bin", DRIVERS: "vendor", EXTRA_SPACE: "1G", BOOT_TIMEOUT: "0" });
    expect(o).toMatchObject({ shim: "a.bin", recovery: "r.bin", rootfs: "root", out: "out.bin", drivers: "vendor", extraSpace: 1024 ** 3, bootTimeout: 0 });
  });

  it("lets flags win over the environment", () => {
    expect(resolveBuildOptions({ ...base, shim: "flag.bin" }, { SHIM_FILE: "env.bin" }).shim).toBe("flag.bin");
  });

  it("ignores RECOVERY_FILE when USE_RECOVERY=false", () => {
    expect(resolveBuildOptions(base, { RECOVERY_FILE: "r.bin", USE_RECOVERY: "false" }).recovery).toBeUndefined();
  });

  it("names every missing required option", () => {
    expect(usage(() => resolveBuildOptions({}, {}))).toMatch(/--shim is required.*--rootfs is required.*--out is required/);
  });

  it("rejects an unknown --drivers mode", () => {
    expect(usage(() => resolveBuildOptions({ ...base, drivers: "all" }, {}))).toMatch(/--drivers must be inject, vendor or none/);
  });

  it("rejects a --name that does not fit the 36-unit GPT name", () => {
    expect(usage(() => resolveBuildOptions({ ...base, name: "x".repeat(21) }, {}))).toMatch(/at most 20 characters/);
  });

  it("reserves the name vendor for the drivers partition", () => {
    expect(usage(() => resolveBuildOptions({ ...base, name: "vendor" }, {}))).toMatch(/reserved/);
  });

  it("rejects a size it cannot read", () => {
    expect(usage(() => resolveBuildOptions({ ...base, extraSpace: "lots" }, {}))).toMatch(/"lots" is not a size/);
  });

  it("rejects --firmware together with --drivers none", () => {
    expect(usage(() => resolveBuildOptions({ ...base, drivers: "none", firmware: "fw" }, {}))).toMatch(/no effect/);
  });
});

describe("shimboot build --dry-run", () => {
  it("prints the plan as JSON and writes nothing", async () => {
    const out = join(t.path, "out.bin");
    const r = await runCli(["build", "--shim", await fixture("shim-x86"), "--rootfs", rootfs, "--out", out, "--dry-run", "--json"], { env: { TMPDIR: t.path } });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.out).toBeNull();
    expect(j.plan.partitions.map((p: { label: string }) => p.label)).toEqual(["STATE", "KERN-A", "ROOT-A", "shimboot_rootfs:nixos"]);
    expect((await readdir(t.path)).sort()).toEqual(["rootfs"]);
  });

  it("prints a readable plan with sizes and file system features", async () => {
    const r = await runCli(["build", "--shim", await fixture("shim-x86-zstd-lz4"), "--rootfs", rootfs, "--out", join(t.path, "x.bin"), "--dry-run"], { env: { TMPDIR: t.path } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Board octopus, kernel 4\.14\.91/);
    expect(r.stdout).toMatch(/shimboot_rootfs:nixos/);
    expect(r.stdout).toMatch(/systemd ≤ 257/);
  });

  it("reads its options from the environment on the command line too", async () => {
    const r = await runCli(["build", "--dry-run", "--json"], { env: { TMPDIR: t.path, SHIM_FILE: await fixture("shim-x86"), ROOTFS_PATH: rootfs, OUTPUT_PATH: join(t.path, "y.bin"), ROOTFS_NAME: "fromenv" } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).plan.rootfsName).toBe("fromenv");
  });

  it("echoes every tool it runs with --verbose (or VERBOSE=true)", async () => {
    const r = await runCli(["build", "--shim", await fixture("shim-x86"), "--rootfs", rootfs, "--out", join(t.path, "v.bin"), "--dry-run"], { env: { TMPDIR: t.path, VERBOSE: "true" } });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^\+ cgpt show -n /m);
    expect(r.stderr).toMatch(/^\+ debugfs /m);
  });

  it("refuses a --bootloader-dir without bin/init", async () => {
    const r = await runCli(["build", "--shim", await fixture("shim-x86"), "--rootfs", rootfs, "--out", join(t.path, "b.bin"), "--dry-run"], { env: { TMPDIR: t.path, BOOTLOADER_DIR: t.path } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--bootloader-dir has no bin\/init/);
  });

  it("exits 2 with a usage error for a bad option", async () => {
    const r = await runCli(["build", "--drivers", "all"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--drivers must be inject, vendor or none/);
  });
});
