// The program under test and its test fixtures. The compiled program is
// snapshotted into the bench's private directory right after the compile, so
// that others recompiling the shared tree mid-run cannot mix two versions of
// it into one measurement.
import { $ } from "zx";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { log } from "./report.js";

$.quiet = true;
$.verbose = false;

/** The repository (dist/bench/lib → ../../..). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const benchCache = join(repoRoot, ".cache", "bench");

export interface App {
  /** where dist/scripts, scripts/bootloader and nix/ of the snapshot live */
  root: string;
  cli: string;
  /** imports a compiled module of the snapshot, e.g. "dist/scripts/read/gpt.js" */
  load<T>(path: string): Promise<T>;
}

/** Copies the compiled program (and its runtime dependencies) into `tmp` and checks it starts. */
export async function snapshotApp(tmp: string): Promise<App> {
  const snap = join(tmp, "app");
  await mkdir(join(snap, "dist"), { recursive: true });
  await mkdir(join(snap, "scripts"), { recursive: true });
  await $`cp -a ${join(repoRoot, "dist/scripts")} ${join(snap, "dist/scripts")}`;
  await $`cp ${join(repoRoot, "dist/shimboot.mjs")} ${join(repoRoot, "dist/shimboot.mjs.map")} ${join(snap, "dist")}`;
  await $`cp -a ${join(repoRoot, "scripts/bootloader")} ${join(snap, "scripts/bootloader")}`;
  await $`cp -a ${join(repoRoot, "nix")} ${join(snap, "nix")}`;
  await $`cp ${join(repoRoot, "package.json")} ${join(snap, "package.json")}`;
  const deps = Object.keys((JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { dependencies?: Record<string, string> }).dependencies ?? {});
  await mkdir(join(snap, "node_modules"), { recursive: true });
  for (const d of deps) {
    await mkdir(dirname(join(snap, "node_modules", d)), { recursive: true });
    await $`cp -a ${join(repoRoot, "node_modules", d)} ${join(snap, "node_modules", d)}`;
  }
  const cli = join(snap, "dist/shimboot.mjs");
  const r = await $`${process.execPath} ${cli} --version`.nothrow();
  if (r.exitCode !== 0) throw new Error(`the compiled program does not start (is the tree mid-edit? run the bench again):\n${r.stderr.trim()}`);
  return { root: snap, cli, load: async <T>(p: string) => (await import(pathToFileURL(join(snap, p)).href)) as T };
}

export interface Fixtures {
  shim: string;
  recovery: string;
  via: string;
}

/**
 * The test suite's fixtures (built with the real tools, cached). The compiled
 * fixtures.js hashes its own .ts sources beside itself, which dist/ lacks, so
 * when it fails the TypeScript module is run with vitest's vite-node instead.
 */
export async function fixtures(tmp: string): Promise<Fixtures> {
  try {
    const m = (await import(pathToFileURL(join(repoRoot, "dist/test/fixtures/fixtures.js")).href)) as { fixture(name: string): Promise<string> };
    return { shim: await m.fixture("shim-x86"), recovery: await m.fixture("recovery-x86"), via: "dist/test/fixtures/fixtures.js" };
  } catch (e) {
    log(`dist/test/fixtures/fixtures.js failed (${(e as Error).message.split("\n")[0]}); using vite-node on test/fixtures/fixtures.ts`);
  }
  const script = join(tmp, "resolve-fixtures.ts");
  await writeFile(
    script,
    `import { fixture } from ${JSON.stringify(join(repoRoot, "test/fixtures/fixtures.ts"))};\n` +
      `process.stdout.write(JSON.stringify({ shim: await fixture("shim-x86"), recovery: await fixture("recovery-x86") }) + "\\n");\n`,
  );
  const r = await $({ cwd: repoRoot })`${join(repoRoot, "node_modules/.bin/vite-node")} ${script}`;
  const j = JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as { shim: string; recovery: string };
  return { ...j, via: "vite-node test/fixtures/fixtures.ts" };
}

/** First line of a tool's version output. */
export async function toolVersion(cmd: string): Promise<string> {
  const r = await $`bash -c ${cmd}`.nothrow();
  return (r.stdout + r.stderr).trim().split("\n")[0] ?? "";
}
