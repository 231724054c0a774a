// nix/systemd/apply-mount-nofollow.sh on source trees shaped like each
// systemd version the flake builds (nix/systemd/units: 257, 259, 260), so a
// moved or reshaped mount_nofollow() fails here, not in a user's build.
//
// The shapes were read at the tags (systemd's src/basic/mountpoint-util.c,
// .h and src/shared/mount-util.c): where the definition starts, how long the
// file is, where the header declares it, where a caller calls it. In all
// three the signature is the same six lines and the body is the old side of
// mount-nofollow.patch. The text around it here is our own filler.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const patch = join(repo, "nix/systemd/mount-nofollow.patch");
const script = join(repo, "nix/systemd/apply-mount-nofollow.sh");

interface Shape {
  tag: string;
  definitionLine: number; // `int mount_nofollow(` in src/basic/mountpoint-util.c
  fileLines: number;
  headerLine: number; // its declaration in src/basic/mountpoint-util.h
  callerLine: number; // a call in src/shared/mount-util.c
}
const shapes: Shape[] = [
  { tag: "v257.9", definitionLine: 658, fileLines: 851, headerLine: 71, callerLine: 314 },
  { tag: "v259.5", definitionLine: 626, fileLines: 815, headerLine: 67, callerLine: 344 },
  { tag: "v260.2", definitionLine: 572, fileLines: 701, headerLine: 76, callerLine: 343 },
];

const signature = [
  "int mount_nofollow(",
  "                const char *source,",
  "                const char *target,",
  "                const char *filesystemtype,",
  "                unsigned long mountflags,",
];
// The function as these versions have it: the patch's own old side after the
// signature (its first context line closes the parameter list).
const patchLines = readFileSync(patch, "utf8").split("\n");
const hunk = patchLines.findIndex((l) => l.startsWith("@@"));
const body = patchLines.slice(hunk + 1).filter((l) => l.startsWith(" ") || l.startsWith("-")).map((l) => l.slice(1));
const definition = [...signature, ...body];

function filler(from: number, count: number, what: string): string[] {
  return Array.from({ length: count }, (_, i) => `/* ${what}, line ${from + i}: text of another function */`);
}

// A source tree of the version's shape: the definition at its line in a file
// of its length, the header's declaration and a caller elsewhere.
function tree(s: Shape): Record<string, string> {
  const before = filler(1, s.definitionLine - 1, "mountpoint-util.c");
  const afterCount = s.fileLines - before.length - definition.length;
  const after = ["const char *after_mount_nofollow(void) {", "        return \"unchanged\";", "}",
    ...filler(0, Math.max(0, afterCount - 3), "after")];
  const header = [...filler(1, s.headerLine - 1, "mountpoint-util.h"), "int mount_nofollow(",
    "                const char *source,", "                const char *target,",
    "                const char *filesystemtype,", "                unsigned long mountflags,",
    "                const void *data);", ""];
  const caller = [...filler(1, s.callerLine - 1, "mount-util.c"),
    "                        r = mount_nofollow(prefix, prefix, NULL, MS_BIND|MS_REC, NULL);", ""];
  return {
    "src/basic/mountpoint-util.c": [...before, ...definition, ...after, ""].join("\n"),
    "src/basic/mountpoint-util.h": header.join("\n"),
    "src/shared/mount-util.c": caller.join("\n"),
  };
}

function run(files: Record<string, string>) {
  const w = mkdtempSync(join(tmpdir(), "sdpatch-"));
  try {
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(w, p)), { recursive: true });
      writeFileSync(join(w, p), text);
    }
    const r = spawnSync("bash", [script, patch, join(w, "record.c")], { cwd: w, encoding: "utf8" });
    const out = Object.fromEntries(Object.keys(files).map((p) => [p, readFileSync(join(w, p), "utf8")]));
    const record = existsSync(join(w, "record.c")) ? readFileSync(join(w, "record.c"), "utf8") : null;
    return { status: r.status, log: r.stdout + r.stderr, out, record };
  } finally { rmSync(w, { recursive: true, force: true }); }
}

const plainMount = "if (mount(source, target, filesystemtype, mountflags, data) < 0)";
function functionText(text: string): string {
  const lines = text.split("\n");
  const start = lines.indexOf("int mount_nofollow(");
  const end = lines.findIndex((l, i) => i > start && l === "}");
  return lines.slice(start, end + 1).join("\n");
}

describe("nix/systemd/apply-mount-nofollow.sh on each systemd version's shape", () => {
  for (const s of shapes) {
    it(`patches mount_nofollow() of systemd ${s.tag} with the patch file itself`, () => {
      const r = run(tree(s));
      expect(r.status, r.log).toBe(0);
      expect(r.log).toContain("patching file src/basic/mountpoint-util.c");
      expect(r.log).not.toContain("does not match");
      const fn = functionText(r.out["src/basic/mountpoint-util.c"]!);
      expect(fn).toContain(plainMount);
      expect(fn).not.toMatch(/open\(|mount_fd|O_NOFOLLOW/);
    });
    it(`leaves everything but the function of systemd ${s.tag} as it was`, () => {
      const input = tree(s);
      const r = run(input);
      expect(r.status, r.log).toBe(0);
      const outside = (t: string) => t.replace(functionText(t), "<fn>");
      expect(outside(r.out["src/basic/mountpoint-util.c"]!)).toBe(outside(input["src/basic/mountpoint-util.c"]!));
      expect(r.out["src/basic/mountpoint-util.h"]).toBe(input["src/basic/mountpoint-util.h"]);
      expect(r.out["src/shared/mount-util.c"]).toBe(input["src/shared/mount-util.c"]);
    });
    it(`records the patched function of systemd ${s.tag} for the rootfs check`, () => {
      const r = run(tree(s));
      expect(r.record).toBe(functionText(r.out["src/basic/mountpoint-util.c"]!) + "\n");
    });
  }

  it("replaces a body the patch does not know, in whichever file defines the function", () => {
    const t = tree(shapes[2]!);
    const moved = t["src/basic/mountpoint-util.c"]!.replace("fd = open(target, O_PATH|O_CLOEXEC|O_NOFOLLOW);",
      "fd = open_tree(AT_FDCWD, target, OPEN_TREE_CLOEXEC);");
    const r = run({ "src/shared/mount-util.c": moved, "src/basic/mountpoint-util.h": t["src/basic/mountpoint-util.h"]! });
    expect(r.status, r.log).toBe(0);
    expect(r.log).toContain("replacing the body directly");
    const fn = functionText(r.out["src/shared/mount-util.c"]!);
    expect(fn).toContain(plainMount);
    expect(fn).not.toContain("open_tree");
  });
  it("fails, saying what to update, when the signature is reshaped onto one line", () => {
    const t = tree(shapes[2]!);
    const oneLine = t["src/basic/mountpoint-util.c"]!.replace(signature.join("\n") + "\n                const void *data) {",
      "int mount_nofollow(const char *source, const char *target, const char *filesystemtype, unsigned long mountflags, const void *data) {");
    const r = run({ ...t, "src/basic/mountpoint-util.c": oneLine });
    expect(r.status).not.toBe(0);
    expect(r.log).toContain("no definition of mount_nofollow()");
    expect(r.log).toContain("update nix/systemd/apply-mount-nofollow.sh");
    expect(r.record).toBeNull();
  });
  it("fails when two files define the function", () => {
    const t = tree(shapes[0]!);
    const r = run({ ...t, "src/shared/mount-util.c": t["src/basic/mountpoint-util.c"]! });
    expect(r.status).not.toBe(0);
    expect(r.log).toContain("defined in more than one file");
  });
  it("fails when no file defines the function (a header's declaration does not count)", () => {
    const t = tree(shapes[1]!);
    const r = run({ "src/basic/mountpoint-util.h": t["src/basic/mountpoint-util.h"]!, "src/basic/other.c": "int other(void) { return 0; }\n" });
    expect(r.status).not.toBe(0);
    expect(r.log).toContain("no definition of mount_nofollow()");
  });
});
