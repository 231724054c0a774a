// What the package installs runs on its own: exactly the files `npm pack`
// puts in it (the bundle dist/shimboot.mjs, package.json's bin, with
// scripts/bootloader and nix/board-info.json), no node_modules and none of
// tsc's modules.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFile } from "node:child_process";
import { cp, mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { fixture, repoRoot } from "../fixtures/fixtures.js";
import { makeRootfsDir, tempDir } from "../helpers/rootfs.js";
import { mapStack } from "../../scripts/lib/internal-error.js";

const execFileP = promisify(execFile);
let t: Awaited<ReturnType<typeof tempDir>>;
let pkg: string;
let packed: string[];
beforeAll(async () => {
  t = await tempDir();
  pkg = join(t.path, "pkg");
  // its cache in the test's directory: the Nix sandbox's HOME is not writable
  const npm = await execFileP("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: repoRoot, env: { ...process.env, npm_config_cache: join(t.path, "npm-cache") } });
  packed = (JSON.parse(npm.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  for (const f of packed) {
    await mkdir(dirname(join(pkg, f)), { recursive: true });
    await cp(join(repoRoot, f), join(pkg, f));
  }
});
afterAll(() => t.cleanup());

describe("the bundle", () => {
  it("is the program package.json names, and the only JavaScript the package holds", async () => {
    const bin = (JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { bin: Record<string, string> }).bin;
    expect(bin).toEqual({ shimboot: "dist/shimboot.mjs" });
    expect(packed.filter((f) => /\.(m?js|ts)$/.test(f))).toEqual(["dist/shimboot.mjs"]);
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
