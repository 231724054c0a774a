// A --rootfs directory's listing: every entry once, in the sorted walk order
// mke2fs's fixups follow, with the owner it has on disk.
import { describe, it, expect } from "vitest";
import { chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readRootfsInput, rootfsEntries } from "../../scripts/read/rootfs-input.js";

const ROOT = process.getuid?.() === 0;

describe("readRootfsInput on a directory", () => {
  it("lists every entry with its path, parents before children, in sorted order", async () => {
    const d = mkdtempSync(join(tmpdir(), "rootfs-input-"));
    try {
      mkdirSync(join(d, "sbin"));
      mkdirSync(join(d, "etc/b/c"), { recursive: true });
      writeFileSync(join(d, "sbin/init"), "#!/bin/sh\n");
      writeFileSync(join(d, "etc/b/c/deep"), "x");
      writeFileSync(join(d, "etc/a"), "y");
      symlinkSync("../sbin/init", join(d, "etc/link"));
      const r = await readRootfsInput(d);
      if (r.kind !== "dir") throw new Error("not read as a directory");
      expect([...rootfsEntries(r.listing)].map((e) => e.path)).toEqual(["etc", "etc/a", "etc/b", "etc/b/c", "etc/b/c/deep", "etc/link", "sbin", "sbin/init"]);
      expect(r.hasInit).toBe(true);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it.runIf(ROOT)("gives each entry the owner it has on disk", async () => {
    const d = mkdtempSync(join(tmpdir(), "rootfs-input-"));
    try {
      mkdirSync(join(d, "sbin"));
      writeFileSync(join(d, "sbin/init"), "");
      chownSync(join(d, "sbin/init"), 5, 7);
      const r = await readRootfsInput(d);
      if (r.kind !== "dir") throw new Error("not read as a directory");
      expect([...rootfsEntries(r.listing)]).toEqual([
        { path: "sbin", uid: 0, gid: 0 },
        { path: "sbin/init", uid: 5, gid: 7 },
      ]);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("says when sbin/init is a directory, not a program", async () => {
    const d = mkdtempSync(join(tmpdir(), "rootfs-input-"));
    try {
      mkdirSync(join(d, "sbin/init"), { recursive: true });
      const r = await readRootfsInput(d);
      expect(r.hasInit).toBe(false);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
