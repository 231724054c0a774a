// What the package installs runs on its own: the bundle (dist/shimboot.mjs,
// package.json's bin) with scripts/bootloader and nix/board-info.json beside
// it, no node_modules and none of tsc's modules.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFile } from "node:child_process";
import { cp, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { fixture, repoRoot } from "../fixtures/fixtures.js";
import { makeRootfsDir, tempDir } from "../helpers/rootfs.js";
import { mapStack } from "../../scripts/lib/internal-error.js";

const execFileP = promisify(execFile);
let t: Awaited<ReturnType<typeof tempDir>>;
let pkg: string;
beforeAll(async () => {
  t = await tempDir();
  pkg = join(t.path, "pkg");
  await mkdir(join(pkg, "dist"), { recursive: true });
  for (const f of ["dist/shimboot.mjs", "dist/shimboot.mjs.map", "package.json", "nix/board-info.json", "scripts/bootloader"]) await cp(join(repoRoot, f), join(pkg, f), { recursive: true });
});
afterAll(() => t.cleanup());

describe("the bundle", () => {
  it("is the program package.json names", async () => {
    const bin = (JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { bin: Record<string, string> }).bin;
    expect(bin).toEqual({ shimboot: "dist/shimboot.mjs" });
  });

  it("builds and verifies an image with no node_modules beside it", async () => {
    const out = join(t.path, "out.bin");
    const rootfs = await makeRootfsDir(join(t.path, "tree"));
    const env = { ...process.env, NODE_PATH: "", SHIMBOOT_NIX_DIR: "", SHIMBOOT_BOOTLOADER_DIR: "" };
    await execFileP(process.execPath, [join(pkg, "dist/shimboot.mjs"), "build", "--shim", await fixture("shim-x86"), "--rootfs", rootfs, "--drivers", "none", "--out", out], { cwd: t.path, env });
    const v = await execFileP(process.execPath, [join(pkg, "dist/shimboot.mjs"), "verify", out, "--json"], { cwd: t.path, env });
    expect((JSON.parse(v.stdout) as { ok: boolean }).ok).toBe(true);
  });

  it("names the TypeScript source of a frame of its own in a stack trace", async () => {
    const bundle = join(pkg, "dist/shimboot.mjs");
    const lines = (await readFile(bundle, "utf8")).split("\n");
    const at = lines.findIndex((l) => l.includes("function makeExtFs("));
    expect(at).toBeGreaterThan(0);
    expect(mapStack(`    at makeExtFs (file://${bundle}:${at + 1}:1)`)).toMatch(new RegExp(`at makeExtFs \\(${pkg}/scripts/write/extfs\\.ts:\\d+:\\d+\\)$`));
  });
});
