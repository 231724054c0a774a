// The newc parser keeps what the kernel would create from the archive.
import { describe, it, expect } from "vitest";
import { $ } from "zx";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CpioError, parseCpio } from "../../scripts/read/cpio.js";
import { makeInitramfsCpio } from "../fixtures/kernel-blob.js";

$.quiet = true;

async function fixtureCpio() {
  const dir = await mkdtemp(join(tmpdir(), "cpio-"));
  try {
    await makeInitramfsCpio(dir, { busybox: false }, join(dir, "out.cpio"));
    return await readFile(join(dir, "out.cpio"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("cpio parser", () => {
  it("keeps device nodes with their major and minor numbers", async () => {
    const { entries } = parseCpio(await fixtureCpio());
    expect(entries.find((e) => e.path === "dev/console")).toMatchObject({ kind: "char", rdev: { major: 5, minor: 1 }, perm: 0o600 });
  });

  it("keeps symlink targets", async () => {
    const { entries } = parseCpio(await fixtureCpio());
    expect(entries.find((e) => e.path === "sbin")).toMatchObject({ kind: "symlink", target: "bin" });
    expect(entries.find((e) => e.path === "usr")).toMatchObject({ kind: "symlink", target: "." });
  });

  it("keeps owners and modes", async () => {
    const { entries } = parseCpio(await fixtureCpio());
    expect(entries.every((e) => e.uid === 0 && e.gid === 0)).toBe(true);
    expect(entries.find((e) => e.path === "root")).toMatchObject({ kind: "dir", perm: 0o700 });
    expect(entries.find((e) => e.path === "bin/cgpt")).toMatchObject({ kind: "file", perm: 0o755 });
  });

  it("gives every member of a hard-link group the data and links them to the first", async () => {
    const { entries } = parseCpio(await fixtureCpio());
    const a = entries.find((e) => e.path === "bin/frecon")!;
    const b = entries.find((e) => e.path === "bin/frecon-lite")!;
    expect(a.data.toString()).toContain("frecon-lite");
    expect(b.data.equals(a.data)).toBe(true);
    expect([a.hardlinkOf, b.hardlinkOf].filter(Boolean)).toHaveLength(1);
  });

  it("rejects an archive cut before its trailer", async () => {
    const buf = await fixtureCpio();
    expect(() => parseCpio(buf.subarray(0, Math.floor(buf.length / 2)))).toThrow(CpioError);
  });

  it("rejects garbage where a header should be", () => {
    expect(() => parseCpio(Buffer.from("this is not a cpio archive at all"))).toThrow(/bad cpio header magic/);
  });

  it("rejects an entry whose name climbs out of the root", () => {
    const name = "../etc/passwd\0";
    const hdr = "070701" + [1, 0o100644, 0, 0, 1, 0, 0, 0, 0, 0, 0, name.length, 0].map((n) => n.toString(16).padStart(8, "0")).join("");
    const buf = Buffer.concat([Buffer.from(hdr + name), Buffer.alloc(4)]);
    expect(() => parseCpio(buf)).toThrow(/escapes/);
  });
});
