// The newc parser keeps what the kernel would create from the archive.
import { describe, it, expect } from "vitest";
import { $ } from "zx";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CpioError, parseCpio } from "../../scripts/read/cpio.js";
import { makeInitramfsCpio } from "../fixtures/kernel-blob.js";
import { genInitCpio } from "../kernel/build.js";

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

/** One newc entry made by hand: header, name, data, each padded to 4 bytes. */
function newc(name: string, mode: number, data: Buffer | string = "", opts: { magic?: string; check?: number; nlink?: number } = {}): Buffer {
  const body = Buffer.from(data);
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = [1, mode, 0, 0, opts.nlink ?? 1, 0, body.length, 0, 0, 0, 0, nameBytes.length, opts.check ?? 0];
  const hdr = Buffer.from((opts.magic ?? "070701") + fields.map((n) => n.toString(16).padStart(8, "0")).join(""));
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  return Buffer.concat([pad(Buffer.concat([hdr, nameBytes])), pad(body)]);
}
const archive = (...entries: Buffer[]) => Buffer.concat([...entries, newc("TRAILER!!!", 0)]);
const S_IFLNK = 0o120777;

describe("cpio symlinks as the kernel creates them", () => {
  it("ends a symlink target at a trailing NUL (gen_init_cpio stores strlen + 1)", () => {
    const { entries } = parseCpio(archive(newc("sbin", S_IFLNK, "bin\0")));
    expect(entries).toMatchObject([{ path: "sbin", kind: "symlink", target: "bin" }]);
  });

  it("ends a symlink target at its first NUL, as symlink() reads a C string", () => {
    const { entries } = parseCpio(archive(newc("a", S_IFLNK, "busybox\0junk")));
    expect(entries[0]?.target).toBe("busybox");
  });

  it("creates no symlink whose target is empty, and removes what the path held before", () => {
    const { entries } = parseCpio(archive(newc("x", 0o100644, "file"), newc("x", S_IFLNK, "\0"), newc("y", S_IFLNK, "")));
    expect(entries.map((e) => e.path)).toEqual([]);
  });

  it("skips a symlink whose target is longer than PATH_MAX", () => {
    const { entries } = parseCpio(archive(newc("long", S_IFLNK, "a".repeat(4097)), newc("ok", S_IFLNK, "b")));
    expect(entries.map((e) => e.path)).toEqual(["ok"]);
  });

  it("skips a directory or device entry that carries data", () => {
    const { entries } = parseCpio(archive(newc("d", 0o040755, "data"), newc("e", 0o040755)));
    expect(entries.map((e) => e.path)).toEqual(["e"]);
  });

  it("keeps a directory that holds entries when the archive later names it a symlink (the kernel's rmdir fails)", () => {
    const { entries } = parseCpio(archive(newc("bin", 0o40755), newc("bin/busybox", 0o100755, "x"), newc("bin", S_IFLNK, "busybox")));
    expect(entries.map((e) => [e.path, e.kind])).toEqual([["bin", "dir"], ["bin/busybox", "file"]]);
  });

  it("replaces an empty directory that the archive later names a symlink", () => {
    const { entries } = parseCpio(archive(newc("lib", 0o40755), newc("lib", S_IFLNK, "usr/lib")));
    expect(entries).toMatchObject([{ path: "lib", kind: "symlink", target: "usr/lib" }]);
  });

  it("makes nothing below a name that is a file", () => {
    const { entries } = parseCpio(archive(newc("etc", 0o100644, "x"), newc("etc/passwd", 0o100644, "root")));
    expect(entries.map((e) => e.path)).toEqual(["etc"]);
  });

  it("ends a name at its first NUL", () => {
    const { entries } = parseCpio(archive(newc("bin/sh\0tail", S_IFLNK, "busybox")));
    expect(entries[0]?.path).toBe("bin/sh");
  });

  it("rejects a crc-format file whose data does not match its checksum", () => {
    const good = newc("f", 0o100644, "abc", { magic: "070702", check: 0x61 + 0x62 + 0x63 });
    expect(parseCpio(archive(good)).entries[0]?.data.toString()).toBe("abc");
    expect(() => parseCpio(archive(newc("f", 0o100644, "abc", { magic: "070702", check: 1 })))).toThrow(/checksum/);
  });
});

/** The same tree as GNU cpio and as kbuild's gen_init_cpio archive it. */
describe("cpio from both archive makers", () => {
  const list = [
    "dir /bin 0755 0 0",
    "file /bin/busybox BUSYBOX 0755 0 0",
    "slink /bin/sh busybox 0777 0 0",
    "slink /sbin bin 0777 0 0",
    "slink /usr . 0777 0 0",
    "dir /dev 0755 0 0",
    "nod /dev/console 0600 0 0 c 5 1",
  ];

  async function both(): Promise<{ gnu: Buffer; kbuild: Buffer }> {
    const dir = await mkdtemp(join(tmpdir(), "cpio-makers-"));
    try {
      await writeFile(join(dir, "busybox"), "#!/bin/sh\n");
      await writeFile(join(dir, "list"), list.map((l) => l.replace("BUSYBOX", join(dir, "busybox"))).join("\n") + "\n");
      await $`${await genInitCpio()} -t 1700000000 ${join(dir, "list")} > ${join(dir, "kbuild.cpio")}`;
      const tree = join(dir, "tree");
      const script = "mkdir -p bin dev && cp ../busybox bin/busybox && chmod 755 bin/busybox && ln -s busybox bin/sh && ln -s bin sbin && ln -s . usr && mknod -m 600 dev/console c 5 1 && find . -mindepth 1 | sed s,^./,, | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > ../gnu.cpio";
      await $`mkdir -p ${tree}`;
      await $({ cwd: tree })`fakeroot sh -c ${script}`;
      return { gnu: await readFile(join(dir, "gnu.cpio")), kbuild: await readFile(join(dir, "kbuild.cpio")) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it("gen_init_cpio stores symlink targets with a trailing NUL, GNU cpio without", async () => {
    const { gnu, kbuild } = await both();
    // the filesize field (7th) of the header before the entry's name
    const storedSize = (b: Buffer, name: string) => {
      const at = b.indexOf(Buffer.from(`${name}\0`)) - 110;
      return parseInt(b.toString("latin1", at + 6 + 6 * 8, at + 6 + 7 * 8), 16);
    };
    expect([storedSize(kbuild, "sbin"), storedSize(gnu, "sbin")]).toEqual(["bin".length + 1, "bin".length]);
    expect([storedSize(kbuild, "bin/sh"), storedSize(gnu, "bin/sh")]).toEqual(["busybox".length + 1, "busybox".length]);
  });

  it("reads every entry of both archives the same way: kind, mode, owner, target, device", async () => {
    const { gnu, kbuild } = await both();
    const view = (b: Buffer) =>
      parseCpio(b)
        .entries.map((e) => ({ path: e.path, kind: e.kind, perm: e.perm, uid: e.uid, target: e.target, rdev: e.rdev, data: e.data.toString() }))
        .sort((a, b) => a.path.localeCompare(b.path));
    expect(view(kbuild)).toEqual(view(gnu));
    expect(view(kbuild).find((e) => e.path === "bin/sh")?.target).toBe("busybox");
  });
});

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
