// The Nix side: every .nix file parses, the pure-Nix tests pass, the CLI's
// view of nix/board-info.nix holds, and the reproducible ext4 builder does
// what it promises (the systemd patch and unit data: test/nix/).
import { beforeAll, describe, it, expect } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { linkSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, symlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { policyFor } from "../scripts/boards.js";
import { compareVersions } from "../scripts/lib/nix-version.js";
import { tarballE2fsprogsPath } from "./helpers/e2fsprogs.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
// Debian's nix-bin has no nixbld group; nothing here builds anything.
const nixOpts = ["--option", "build-users-group", ""];

function nix(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("nix-instantiate", [...nixOpts, ...args], { cwd: repo, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function nixFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name.startsWith(".") || e.name === "dist" || e.name.startsWith("result")) return [];
    const p = join(dir, e.name);
    return e.isDirectory() ? nixFiles(p) : e.name.endsWith(".nix") ? [relative(repo, p)] : [];
  });
}

function boardInfo(kernel?: string) {
  // nix-instantiate --eval calls a function file only when given arguments,
  // so "no kernel" is spelled --arg kernel null.
  const args = ["--eval", "--strict", "--json", "nix/board-info.nix"];
  if (kernel) args.push("--argstr", "kernel", kernel);
  else args.push("--arg", "kernel", "null");
  const r = nix(args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe("every Nix file", () => {
  const files = nixFiles(repo);
  it("includes the flake, the module and the pure tests", () => {
    expect(files).toEqual(expect.arrayContaining(["flake.nix", "nix/modules/default.nix", "nix/tests/harness.nix"]));
  });
  for (const file of files) {
    it(`${file} parses as Nix`, () => {
      const r = nix(["--parse", file]);
      expect(r.status, r.stderr).toBe(0);
    });
  }
});

describe("pure-Nix tests", () => {
  const tests = readdirSync(join(repo, "nix/tests")).filter((f) => f.endsWith("-test.nix"));
  it("exist", () => expect(tests.length).toBeGreaterThan(3));
  for (const t of tests) {
    it(`the checks in nix/tests/${t} all hold`, () => {
      const r = nix(["--eval", "--strict", `nix/tests/${t}`]);
      expect(r.status, r.stderr).toBe(0);
    });
  }
  it("a false check makes nix-instantiate fail with its sentence", () => {
    const r = nix(["--eval", "--strict", "-E", 'let h = import ./nix/tests/harness.nix; in h.run [ (h.check "the sky is green" false) ]']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("FAILED: the sky is green");
  });
});

describe("nix/board-info.nix as the CLI reads it", () => {
  it("lists every board with its kernel, shim hash, recovery URL and policy", () => {
    const info = boardInfo();
    expect(Object.keys(info.boards).sort()).toEqual(["dedede", "grunt", "hatch", "nissa", "octopus", "snappy", "zork"]);
    const d = info.boards.dedede;
    expect(d).toMatchObject({ arch: "x86_64", kernel: "5.4.85", policy: { kernel: "5.4.85", systemdCeiling: 259 } });
    expect(d.shim.sha256).toMatch(/^sha256-/);
    expect(d.recovery.url).toMatch(/^https:\/\/dl\.google\.com\/.*\.zip$/);
  });
  it("carries the policy rules and no single kernel's policy when the kernel is null", () => {
    const info = boardInfo();
    expect(info.policy).toBeUndefined();
    expect(info.policyRules.systemdCeilings.length).toBeGreaterThan(0);
  });
  it("cannot be read without arguments, being a function", () => {
    const r = nix(["--eval", "--strict", "--json", "nix/board-info.nix"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("cannot convert a function to JSON");
  });
  it("gives systemd 257 and no metadata_csum_seed for a 4.14 kernel", () => {
    const p = boardInfo("4.14.91").policy;
    expect(p.systemdCeiling).toBe(257);
    expect(p.ext4Features).not.toContain("metadata_csum_seed");
    expect(p.ext4Features).not.toContain("orphan_file");
  });
  it("gives systemd 260 and orphan_file for a 5.15 kernel", () => {
    const p = boardInfo("5.15.74").policy;
    expect(p.systemdCeiling).toBe(260);
    expect(p.ext4Features).toContain("orphan_file");
    expect(p.ext2Features).toContain("filetype");
  });
});

describe("the CLI's board table never disagrees with the Nix files", () => {
  it("nix/board-info.json is exactly what nix/board-info.nix evaluates to (`npm run board-info` rewrites it)", () => {
    expect(JSON.parse(readFileSync(join(repo, "nix/board-info.json"), "utf8"))).toEqual(boardInfo());
  });

  // every board's kernel, each threshold and its neighbours, and release strings as shims print them
  const kernels = [
    ...new Set([
      ...Object.values(boardInfo().boards as Record<string, { kernel: string }>).map((b) => b.kernel),
      "3.18", "4.4.35", "5.3", "5.3.99", "5.4", "5.4.0", "5.4.85", "5.9.16", "5.10", "5.10.0", "5.10-rc1", "5.14.21", "5.15", "5.15.0",
      "6.1.0", "6.6.30", "10.0", "5.4.85-22138-ga9994f5cad40", "5.15.74-19466-g1a2b3c4d5e6f", "5", "", "unknown", "5.4pre", "5.pre4",
    ]),
  ];
  it("applies the policy rules to any kernel exactly as kernel-policy.nix's forKernel does", () => {
    const r = nix(["--eval", "--strict", "--json", "-E", `map (import ./nix/lib/kernel-policy.nix).forKernel (builtins.fromJSON ''${JSON.stringify(kernels)}'')`]);
    expect(r.status, r.stderr).toBe(0);
    const rules = JSON.parse(readFileSync(join(repo, "nix/board-info.json"), "utf8")).policyRules;
    expect(kernels.map((k) => policyFor(rules, k))).toEqual(JSON.parse(r.stdout));
  });

  it("compares versions exactly as builtins.compareVersions does", () => {
    const vs = ["", "1", "1.0", "1.0.0", "1.0-1", "1.2", "1.10", "1.2a", "1.2.1", "1.2pre", "1.2pre1", "1.2-pre", "pre", "a", "b", "1a", "1.a", "2147483647", "2147483648", "99999999999", "5.4.85-22138-g", "5.4.85-22138-ga", "5..4", "5.4.", "-5", "x.y.z"];
    const pairs = vs.flatMap((a) => vs.map((b) => [a, b] as const));
    const r = nix(["--eval", "--strict", "--json", "-E", `map (p: builtins.compareVersions (builtins.elemAt p 0) (builtins.elemAt p 1)) (builtins.fromJSON ''${JSON.stringify(pairs)}'')`]);
    expect(r.status, r.stderr).toBe(0);
    const want = JSON.parse(r.stdout) as number[];
    expect(pairs.map(([a, b]) => `${a} ${b} ${compareVersions(a, b)}`)).toEqual(pairs.map(([a, b], i) => `${a} ${b} ${want[i]}`));
  });
});

describe("flake.lock", () => {
  const lock = JSON.parse(readFileSync(join(repo, "flake.lock"), "utf8"));
  const inputs = ["nixpkgs", "nixpkgs-systemd257", "nixpkgs-systemd259"];
  const pin = {
    type: "github", owner: "NixOS", repo: "nixpkgs", rev: "6201e203d09599479a3b3450ed24fa81537ebc4e",
    narHash: "sha256-ZojAnPuCdy657PbTq5V0Y+AHKhZAIwSIT2cb8UgAz/U=", lastModified: 1775036866,
  };
  it("is a version 7 lock file whose root has exactly the three nixpkgs inputs", () => {
    expect(lock.version).toBe(7);
    expect(lock.nodes[lock.root].inputs).toEqual(Object.fromEntries(inputs.map((i) => [i, i])));
  });
  it("pins nixos-unstable and the systemd 257 nixpkgs to the design's revisions and hashes", () => {
    expect(lock.nodes.nixpkgs.locked).toEqual(pin);
    expect(lock.nodes["nixpkgs-systemd257"].locked).toEqual({
      type: "github", owner: "NixOS", repo: "nixpkgs", rev: "d3736636ac39ed678e557977b65d620ca75142d0",
      narHash: "sha256-ifUlBNPpzssInhPfEJIkndSVpDKGe09a1Fk/TGPsI2M=", lastModified: 1759514779,
    });
  });
  it("pins the systemd 259 nixpkgs to the nixpkgs revision, locked the same way", () => {
    expect(lock.nodes["nixpkgs-systemd259"].locked).toEqual(pin);
  });
  it("matches the revisions flake.nix asks for, each input its own", () => {
    const flake = readFileSync(join(repo, "flake.nix"), "utf8");
    for (const i of inputs) {
      expect(flake).toContain(`${i}.url = "github:NixOS/nixpkgs/${lock.nodes[i].locked.rev}";`);
      expect(lock.nodes[i].original).toEqual({ type: "github", owner: "NixOS", repo: "nixpkgs", rev: lock.nodes[i].locked.rev });
    }
  });
});

describe("nix/rootfs/make-ext4.sh", () => {
  const features = "none,has_journal,ext_attr,resize_inode,dir_index,filetype,extent,flex_bg,sparse_super,large_file,huge_file,dir_nlink,extra_isize,64bit,metadata_csum";
  const uuid = "11111111-2222-4333-8444-555555555555";
  const seed = "66666666-7777-4888-8999-000000000000";
  let PATH = "";
  beforeAll(() => void (PATH = tarballE2fsprogsPath()));
  const tool = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, PATH } });

  /** A skeleton (the image's own entries) and a "store" beside it, as the Nix builder lays them out. */
  function tree(w: string) {
    const store = join(w, "store");
    const skeleton = join(w, "skeleton");
    rmSync(store, { recursive: true, force: true });
    rmSync(skeleton, { recursive: true, force: true });
    mkdirSync(join(store, "abc-hello/bin"), { recursive: true });
    mkdirSync(join(store, "def-lib/lib"), { recursive: true });
    writeFileSync(join(store, "abc-hello/bin/hello"), "#!/bin/sh\necho hi\n", { mode: 0o555 });
    writeFileSync(join(store, "def-lib/lib/libdata.so"), Buffer.alloc(300_000, 7));
    linkSync(join(store, "def-lib/lib/libdata.so"), join(store, "abc-hello/bin/same-data"));
    mkdirSync(join(skeleton, store), { recursive: true }); // the store paths' parent
    mkdirSync(join(skeleton, "sbin"), { recursive: true });
    symlinkSync("/nix/var/nix/profiles/system/init", join(skeleton, "sbin/init"));
    writeFileSync(join(w, "paths"), `${join(store, "abc-hello")}\n${join(store, "def-lib")}\n`);
    return { skeleton, store, paths: join(w, "paths") };
  }
  function build(t: ReturnType<typeof tree>, img: string, env: Record<string, string> = {}) {
    return spawnSync("bash", [join(repo, "nix/rootfs/make-ext4.sh"), img, "nixos", uuid, seed, features, t.skeleton, t.paths], {
      env: { ...process.env, PATH, SOURCE_DATE_EPOCH: "1", ...env }, encoding: "utf8",
    });
  }
  function inTemp(f: (w: string) => void) {
    const w = mkdtempSync(join(tmpdir(), "mkext4-"));
    try { f(w); } finally { rmSync(w, { recursive: true, force: true }); }
  }

  it("gives the same bytes for the same content made again later, under another umask and time zone", () => inTemp((w) => {
    expect(build(tree(w), join(w, "a.img")).status).toBe(0);
    const again = tree(w); // new inodes: other ctimes, atimes and mtimes
    expect(build(again, join(w, "b.img"), { TZ: "Asia/Tokyo" }).status).toBe(0);
    expect(execFileSync("bash", ["-c", `umask 077; exec "$@"`, "bash", "bash", join(repo, "nix/rootfs/make-ext4.sh"), join(w, "c.img"), "nixos", uuid, seed, features, again.skeleton, again.paths], { env: { ...process.env, PATH, SOURCE_DATE_EPOCH: "1" } })).toBeDefined();
    const a = readFileSync(join(w, "a.img"));
    expect(a.equals(readFileSync(join(w, "b.img")))).toBe(true);
    expect(a.equals(readFileSync(join(w, "c.img")))).toBe(true);
  }));

  it("writes exactly the requested features, label, UUID and hash seed", () => inTemp((w) => {
    expect(build(tree(w), join(w, "a.img")).status).toBe(0);
    const sb = tool("dumpe2fs", ["-h", join(w, "a.img")]);
    const have = /^Filesystem features:\s+(.*)$/m.exec(sb)![1]!.trim().split(/\s+/).sort();
    expect(have).toEqual(features.split(",").slice(1).sort());
    expect(sb).toMatch(new RegExp(`^Filesystem UUID:\\s+${uuid}$`, "m"));
    expect(sb).toMatch(new RegExp(`^Directory Hash Seed:\\s+${seed}$`, "m"));
    expect(sb).toMatch(/^Filesystem volume name:\s+nixos$/m);
  }));

  it("puts each listed path at its own path beside the skeleton, owned by root, every time SOURCE_DATE_EPOCH, hard links kept", () => inTemp((w) => {
    const t = tree(w);
    expect(build(t, join(w, "a.img"), { SOURCE_DATE_EPOCH: "1700000000" }).status).toBe(0);
    const img = join(w, "a.img");
    const hello = tool("debugfs", ["-R", `stat ${join(t.store, "abc-hello/bin/hello")}`, img]);
    expect(hello).toMatch(/User:\s+0\s+Group:\s+0/);
    expect(hello).toMatch(/Mode:\s+0555/);
    for (const time of ["ctime", "atime", "mtime", "crtime"]) expect(hello).toMatch(new RegExp(`${time}: 0x6553f100:`));
    expect(tool("debugfs", ["-R", "stat /sbin/init", img])).toMatch(/Fast link dest: "\/nix\/var\/nix\/profiles\/system\/init"/);
    expect(tool("debugfs", ["-R", "stat /", img])).toMatch(/mtime: 0x6553f100:/);
    const data = tool("debugfs", ["-R", `stat ${join(t.store, "def-lib/lib/libdata.so")}`, img]);
    expect(data).toMatch(/Links: 2/);
    const bytes = execFileSync("debugfs", ["-R", `cat ${join(t.store, "def-lib/lib/libdata.so")}`, img], { stdio: ["ignore", "pipe", "ignore"], maxBuffer: 1 << 20 });
    expect(bytes.equals(readFileSync(join(t.store, "def-lib/lib/libdata.so")))).toBe(true);
    expect(tool("debugfs", ["-R", `ls -l ${join(t.store, "abc-hello/bin")}`, img])).toMatch(/same-data/);
  }));

  it("is sized from the content, with 64 MiB free and little more", () => inTemp((w) => {
    expect(build(tree(w), join(w, "a.img")).status).toBe(0);
    const sb = tool("dumpe2fs", ["-h", join(w, "a.img")]);
    const free = Number(/^Free blocks:\s+(\d+)/m.exec(sb)![1]);
    expect(free).toBeGreaterThanOrEqual(16384);
    expect(free).toBeLessThan(16384 * 1.1);
  }));

  it("refuses an mke2fs that cannot read a tarball, saying which version is needed", () => inTemp((w) => {
    mkdirSync(join(w, "old"));
    writeFileSync(join(w, "old/mke2fs"), "#!/bin/sh\necho 'mke2fs 1.47.0 (5-Feb-2023)' >&2\n", { mode: 0o755 });
    const r = build(tree(w), join(w, "a.img"), { PATH: `${join(w, "old")}:${PATH}` });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("mke2fs 1.47.0 cannot fill a file system from a tarball; e2fsprogs 1.47.1 or later is needed");
  }));

  it("refuses a path whose parent the skeleton does not hold", () => inTemp((w) => {
    const t = tree(w);
    rmSync(join(t.skeleton, t.store), { recursive: true });
    const r = build(t, join(w, "a.img"));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`has no directory ${t.store} to hold ${join(t.store, "abc-hello")}`);
  }));
});
