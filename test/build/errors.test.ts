// Every failure says what was wrong with which input, exits non-zero and
// leaves nothing behind: no partial image, no work directory, an existing
// --out untouched. Also on Ctrl-C.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { spawn } from "node:child_process";
import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fixture } from "../fixtures/fixtures.js";
import { buildImage } from "../helpers/build.js";
import { CLI, runCli } from "../helpers/cli.js";
import { makeRootfsDir, makeRootfsImage, tempDir } from "../helpers/rootfs.js";

// switching users (setpriv, chown) and mounting (unshare -m) need root: the
// Nix sandbox builds unprivileged, where these are skipped
const ROOT = process.getuid?.() === 0;

$.quiet = true;
let t: Awaited<ReturnType<typeof tempDir>>;
let rootfs: string;
let n = 0;
beforeAll(async () => {
  t = await tempDir();
  await chmod(t.path, 0o755); // some cases run the CLI as an unprivileged user
  rootfs = await makeRootfsDir(join(t.path, "rootfs"));
});
afterAll(() => t.cleanup());

/** A fresh output directory with an existing, precious --out in it. */
async function outDir() {
  const d = join(t.path, `case-${n++}`);
  await mkdir(d);
  await writeFile(join(d, "shimboot.bin"), "previous image");
  return d;
}

async function expectCleanFailure(d: string, r: { code: number; stderr: string; stdout: string }, message: RegExp) {
  expect(r.code).not.toBe(0);
  expect(r.stderr.split("\n")[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect((await readdir(d)).sort()).toEqual(["shimboot.bin"]);
  expect(await readFile(join(d, "shimboot.bin"), "utf8")).toBe("previous image");
}

const force = ["--force"];

describe("shimboot build on bad input", () => {
  it("names a missing shim", async () => {
    const d = await outDir();
    const r = await runCli(["build", "--shim", join(d, "nope.bin"), "--rootfs", rootfs, "--out", join(d, "shimboot.bin"), "--force"], { env: { TMPDIR: d } });
    await expectCleanFailure(d, r, /nope\.bin: no such file/);
  });

  it("refuses a zipped shim and says to unzip it", async () => {
    const d = await outDir();
    const zip = join(d, "shim.zip");
    await $`python3 -m zipfile -c ${zip} ${await fixture("shim-x86")}`;
    const r = await runCli(["build", "--shim", zip, "--rootfs", rootfs, "--out", join(d, "shimboot.bin"), "--force"], { env: { TMPDIR: d } });
    await $`rm ${zip}`;
    await expectCleanFailure(d, r, /unzip it first|zip archive/);
  });

  it("says so when a recovery image is passed as the shim", async () => {
    const d = await outDir();
    const r = await buildImage(d, { shim: "recovery-x86", rootfs, args: force });
    await expectCleanFailure(d, r, /recovery image, not an RMA shim/);
  });

  it("reports a shim whose initramfs is corrupt", async () => {
    const d = await outDir();
    const r = await buildImage(d, { shim: "bad-shim-corrupt-initramfs", rootfs, args: force });
    await expectCleanFailure(d, r, /initramfs is corrupt/);
  });

  it("reports a truncated shim", async () => {
    const d = await outDir();
    const cut = join(t.path, "cut.bin");
    await copyFile(await fixture("shim-x86"), cut);
    await $`truncate -s 12M ${cut}`;
    const r = await runCli(["build", "--shim", cut, "--rootfs", rootfs, "--out", join(d, "shimboot.bin"), "--force"], { env: { TMPDIR: d } });
    await expectCleanFailure(d, r, /truncated/);
  });

  it("names a missing --rootfs", async () => {
    const d = await outDir();
    const r = await buildImage(d, { rootfs: join(d, "none"), args: force });
    await expectCleanFailure(d, r, /--rootfs: no such file or directory/);
  });

  it("refuses a --rootfs directory without /sbin/init", async () => {
    const d = await outDir();
    const r = await buildImage(d, { rootfs: await makeRootfsDir(join(t.path, `noinit-${n}`), { init: false }), args: force });
    await expectCleanFailure(d, r, /has no \/sbin\/init/);
  });

  it("refuses an ext4 --rootfs image without /sbin/init, stopping the copy that began before it was read", async () => {
    const d = await outDir();
    const tree = await makeRootfsDir(join(t.path, `noinit-img-${n}`), { init: false, bulkBytes: 96 * 1024 * 1024 });
    const r = await buildImage(d, { rootfs: await makeRootfsImage(tree, join(t.path, "noinit.img"), 160), args: force });
    await expectCleanFailure(d, r, /noinit\.img: --rootfs has no \/sbin\/init/);
  });

  it("refuses a --rootfs file that is not an ext4 image", async () => {
    const d = await outDir();
    const f = join(t.path, "junk.img");
    await writeFile(f, Buffer.alloc(1024 * 1024, 7));
    const r = await buildImage(d, { rootfs: f, args: force });
    await expectCleanFailure(d, r, /not a directory and not an ext2\/ext4 file system image/);
  });

  it("refuses an output in a missing directory", async () => {
    const d = await outDir();
    const r = await buildImage(d, { rootfs, out: join(d, "missing/dir/out.bin") });
    await expectCleanFailure(d, r, /does not exist/);
  });

  it.runIf(ROOT)("refuses an output in a read-only directory (as an unprivileged user)", async () => {
    const d = await outDir();
    const ro = join(d, "ro");
    await mkdir(ro);
    await chmod(ro, 0o555);
    await chmod(d, 0o777);
    const shim = await fixture("shim-x86");
    const args = ["build", "--shim", shim, "--rootfs", rootfs, "--out", join(ro, "out.bin"), "--drivers", "none"];
    const r = await $`setpriv --reuid=65534 --regid=65534 --clear-groups -- env TMPDIR=${d} ${process.execPath} ${CLI} ${args}`.nothrow();
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/is not writable/);
    expect(await readdir(ro)).toEqual([]);
  });

  it.runIf(ROOT)("names a file in the --rootfs tree that the user cannot read", async () => {
    const d = await outDir();
    const shim = await fixture("shim-x86");
    await chmod(d, 0o777);
    const args = ["build", "--shim", shim, "--rootfs", rootfs, "--out", join(d, "out.bin"), "--drivers", "none"];
    const r = await $`setpriv --reuid=65534 --regid=65534 --clear-groups -- env TMPDIR=${d} ${process.execPath} ${CLI} ${args}`.nothrow();
    expect(r.exitCode).toBe(1);
    expect((await readdir(d)).sort()).toEqual(["shimboot.bin"]);
    expect(r.stderr.split("\n")[0]).toMatch(/etc\/secret-mode: --rootfs: this file is not readable/);
  });

  it("names a TMPDIR that does not exist, and writes nothing", async () => {
    const d = await outDir();
    const shim = await fixture("shim-x86");
    const r = await runCli(["build", "--shim", shim, "--rootfs", rootfs, "--out", join(d, "shimboot.bin"), "--drivers", "none", "--force"], { env: { TMPDIR: join(d, "missing") } });
    await expectCleanFailure(d, r, /missing \(TMPDIR\): cannot make a private working directory there \(ENOENT\)/);
  });

  it("refuses to overwrite an existing --out without --force", async () => {
    const d = await outDir();
    const r = await buildImage(d, { rootfs });
    await expectCleanFailure(d, r, /already exists/);
  });

  it.runIf(ROOT)("stops before writing when the output's file system has too little space", async () => {
    const d = await outDir();
    const small = join(d, "small");
    await mkdir(small);
    // a private mount namespace: the 4 MiB tmpfs is seen by this command only
    const shim = await fixture("shim-x86");
    const r = await $`unshare -m sh -c ${`mount -t tmpfs -o size=4m tmpfs "$0" && TMPDIR="$1" "$2" "$3" build --shim "$4" --rootfs "$5" --out "$0/out.bin"; rc=$?; ls -A "$0"; exit $rc`} ${small} ${d} ${process.execPath} ${CLI} ${shim} ${rootfs}`.nothrow();
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/not enough disk space/);
    expect(r.stdout.trim()).toBe(""); // nothing left on the small file system
  });

  it("stops on Ctrl-C and removes the partial image and its work directory", async () => {
    const d = await outDir();
    const tree = await makeRootfsDir(join(t.path, "big"), { bulkBytes: 384 * 1024 * 1024 });
    const big = await makeRootfsImage(tree, join(t.path, "big.img"), 512);
    await $`rm -rf ${tree}`;
    const shim = await fixture("shim-x86");
    const child = spawn(process.execPath, [CLI, "build", "--shim", shim, "--rootfs", big, "--out", join(d, "shimboot.bin"), "--force"], { env: { ...process.env, TMPDIR: d }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    // wait until the partial image exists, then interrupt
    for (let i = 0; i < 600; i++) {
      if ((await readdir(d)).some((f) => f.includes(".partial-"))) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    await new Promise((r) => setTimeout(r, 200));
    await expectCleanFailure(d, { code: 130, stderr: "interrupted", stdout: "" }, /interrupted/);
  });

  it("leaves nothing behind whenever the Ctrl-C comes: reading, copying, writing or verifying", async () => {
    const img = await makeRootfsImage(await makeRootfsDir(join(t.path, "ctrl-c-tree"), { bulkBytes: 48 * 1024 * 1024 }), join(t.path, "ctrl-c.img"), 96);
    const shim = await fixture("shim-x86");
    for (const delayMs of [0, 40, 120, 250, 400, 600, 850, 1100, 1400]) {
      const d = await outDir();
      const child = spawn(process.execPath, [CLI, "build", "--shim", shim, "--rootfs", img, "--out", join(d, "shimboot.bin"), "--force"], { env: { ...process.env, TMPDIR: d }, stdio: ["ignore", "ignore", "pipe"] });
      const exited = new Promise<number | string | null>((res) => child.on("exit", (code, signal) => res(code ?? signal)));
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill("SIGINT");
      const code = await exited;
      // SIGINT itself: Node had not started the program yet
      expect([0, 130, "SIGINT"], `exit status with Ctrl-C after ${delayMs} ms`).toContain(code);
      // finished first: the new image; interrupted: the previous one; anything else is a leftover
      expect((await readdir(d)).sort(), `left in TMPDIR after Ctrl-C at ${delayMs} ms`).toEqual(["shimboot.bin"]);
      if (code !== 0) expect(await readFile(join(d, "shimboot.bin"), "utf8")).toBe("previous image");
    }
  });
});

describe("shimboot build as an unprivileged user", () => {
  it.runIf(ROOT)("builds a verified image without root", async () => {
    const d = join(t.path, "rootless");
    await mkdir(d);
    await chmod(d, 0o777);
    await chmod(t.path, 0o755);
    const shim = await fixture("shim-x86");
    const rec = await fixture("recovery-x86");
    const own = await makeRootfsDir(join(d, "rootfs"));
    await $`chown -R 65534:65534 ${own}`;
    const args = ["build", "--shim", shim, "--recovery", rec, "--rootfs", own, "--out", join(d, "out.bin"), "--extra-space", "8M"];
    const r = await $`setpriv --reuid=65534 --regid=65534 --clear-groups -- env TMPDIR=${d} ${process.execPath} ${CLI} ${args}`.nothrow();
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect((await runCli(["verify", join(d, "out.bin")])).code).toBe(0);
  });
});

describe("concurrent builds", () => {
  it("two builds into the same directory both succeed", async () => {
    const d = join(t.path, "concurrent");
    await mkdir(d);
    const [a, b] = await Promise.all([
      buildImage(d, { rootfs, out: join(d, "a.bin") }),
      buildImage(d, { rootfs, out: join(d, "b.bin"), args: ["--name", "second"] }),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect((await readdir(d)).sort()).toEqual(["a.bin", "b.bin"]);
  });
});
