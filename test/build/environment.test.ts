// Same inputs, same bytes, whatever the environment of the build: umask,
// time zone, locale (also one that is not installed), working directory and
// relative paths, TMPDIR, HOME, and the order the rootfs directory lists in.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn } from "node:child_process";
import { chmod, cp, mkdir, utimes, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { fixture } from "../fixtures/fixtures.js";
import { CLI } from "../helpers/cli.js";
import { sha256 } from "../helpers/image.js";
import { makeRootfsImage, tempDir } from "../helpers/rootfs.js";

let t: Awaited<ReturnType<typeof tempDir>>;
let shim: string;
let recovery: string;
beforeAll(async () => {
  t = await tempDir();
  shim = await fixture("shim-x86");
  recovery = await fixture("recovery-x86");
  await writeFile(join(t.path, "wifi.json"), JSON.stringify({ networks: [{ ssid: "Home", psk: "correct horse battery" }] }));
});
afterAll(() => t.cleanup());

const NAMES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"];

/**
 * The same tree, its entries created in the given order (tmpfs and many
 * other file systems list a directory in creation order), modes and times
 * set explicitly so that only the order differs.
 */
async function makeTree(dir: string, names: string[]): Promise<string> {
  for (const d of ["sbin", "etc", "usr/share"]) await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, "sbin/init"), "#!/bin/sh\n");
  for (const n of names) {
    await writeFile(join(dir, "etc", n), `${n}\n`);
    await mkdir(join(dir, "usr/share", n));
  }
  const all = ["", "sbin", "etc", "usr", "usr/share", "sbin/init", ...names.flatMap((n) => [`etc/${n}`, `usr/share/${n}`])];
  for (const p of all) {
    const isDir = !p.startsWith("etc/") && p !== "sbin/init";
    await chmod(join(dir, p), isDir || p === "sbin/init" ? 0o755 : 0o644);
    await utimes(join(dir, p), 1_000_000, 1_000_000);
  }
  return dir;
}

interface Env {
  umask: string;
  cwd: string;
  env: Record<string, string>;
}

/** Runs the CLI under `umask` (a shell sets it, as a user's login would). */
function buildIn(e: Env, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("/bin/sh", ["-c", 'umask "$0" && exec "$@"', e.umask, process.execPath, CLI, ...args], { cwd: e.cwd, env: { ...process.env, ...e.env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (c) => (stderr += c));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code: code ?? -1, stderr }));
  });
}

async function imageHash(e: Env, rootfs: string, out: string, extra: string[] = []): Promise<string> {
  const rel = (p: string) => relative(e.cwd, p) || ".";
  const r = await buildIn(e, ["build", "--shim", rel(shim), "--recovery", rel(recovery), "--rootfs", rel(rootfs), "--out", rel(out), "--extra-space", "4M", "--wifi", rel(join(t.path, "wifi.json")), ...extra]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return sha256(out);
}

describe("the image's bytes do not depend on the build's environment", () => {
  let base: Env;
  let others: Env[];
  beforeAll(async () => {
    const home = join(t.path, "home");
    const tmp = join(t.path, "tmp");
    const elsewhere = join(t.path, "some/other/cwd");
    for (const d of [home, tmp, elsewhere]) await mkdir(d, { recursive: true });
    base = { umask: "022", cwd: t.path, env: { TZ: "UTC", LANG: "C.UTF-8", LC_ALL: "C.UTF-8", TMPDIR: t.path, HOME: home } };
    others = [
      { umask: "077", cwd: elsewhere, env: { TZ: "Pacific/Kiritimati", LANG: "de_DE.UTF-8", LC_ALL: "tr_TR.UTF-8", LANGUAGE: "de", TMPDIR: tmp, HOME: tmp } },
      { umask: "002", cwd: "/", env: { TZ: "America/St_Johns", LANG: "ja_JP.UTF-8", LC_ALL: "", TMPDIR: existsSync("/dev/shm") ? "/dev/shm" : tmp, HOME: elsewhere } },
    ];
  });

  it("from a directory rootfs with drivers injected and Wi-Fi: umask, TZ, locale, working directory, TMPDIR, HOME", async () => {
    const tree = await makeTree(join(t.path, "tree"), NAMES);
    const a = await imageHash(base, tree, join(t.path, "a.bin"));
    for (const [i, e] of others.entries()) expect(await imageHash(e, tree, join(t.path, `a${i}.bin`))).toBe(a);
  });

  it("from the same tree created in another order and another place", async () => {
    // tmpfs lists in creation order; elsewhere the listing order may not change, and the test still holds
    const place = existsSync("/dev/shm") ? "/dev/shm" : t.path;
    const fwd = await makeTree(join(place, `shimboot-order-a-${process.pid}`), NAMES);
    const rev = await makeTree(join(place, `shimboot-order-b-${process.pid}`), [...NAMES].reverse());
    try {
      const a = await imageHash(base, fwd, join(t.path, "o1.bin"));
      expect(await imageHash(others[0]!, rev, join(t.path, "o2.bin"))).toBe(a);
    } finally {
      const { rm } = await import("node:fs/promises");
      await rm(fwd, { recursive: true, force: true });
      await rm(rev, { recursive: true, force: true });
    }
  });

  it("from an ext4 image with a vendor partition, copied to another place", async () => {
    const img = await makeRootfsImage(await makeTree(join(t.path, "tree-img"), NAMES), join(t.path, "root.img"), 24);
    const copy = join(t.path, "tmp/root-copy.img");
    await cp(img, copy);
    const a = await imageHash(base, img, join(t.path, "v1.bin"), ["--drivers", "vendor"]);
    expect(await imageHash(others[0]!, copy, join(t.path, "v2.bin"), ["--drivers", "vendor"])).toBe(a);
  });
});
