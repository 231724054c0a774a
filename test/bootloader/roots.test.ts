// Looking inside a root before booting it: chroot-style path resolution,
// init checks, NixOS generations, menu choices and the default entry.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { link, makeSandbox, put, runLib, type Sandbox } from "./busybox-env.js";

let sb: Sandbox;
let root: string;
beforeEach(() => {
  sb = makeSandbox();
  root = join(sb.dir, "root");
});
afterEach(() => sb.cleanup());

const lib = (script: string) => runLib(sb, script, { ROOT: root });
const lines = (s: string) => s.split("\n").filter(Boolean);

/** A NixOS-like profile tree with absolute links into /nix/store. */
function generation(n: number, version: string | undefined, mtime: number) {
  const store = `/nix/store/${n}abc-nixos-system-host-${version ?? "x"}`;
  put(join(root, store, "init"), `#!${store}/sh\n`, 0o755);
  if (version !== undefined) put(join(root, store, "nixos-version"), `${version}\n`);
  link(join(root, `nix/var/nix/profiles/system-${n}-link`), store, mtime);
}

describe("sb_resolve", () => {
  it("follows absolute links inside the root, never on the host", () => {
    put(join(root, "nix/store/aaa-init/init"), "x");
    link(join(root, "nix/var/nix/profiles/system"), "system-1-link");
    link(join(root, "nix/var/nix/profiles/system-1-link"), "/nix/store/aaa-init");
    link(join(root, "sbin/init"), "/nix/var/nix/profiles/system/init");
    expect(lib(`sb_resolve "$ROOT" /sbin/init`).stdout).toBe(`${root}/nix/store/aaa-init/init\n`);
  });

  it("follows relative links and '..' components", () => {
    put(join(root, "usr/lib/systemd/systemd"), "x");
    link(join(root, "lib"), "usr/lib");
    link(join(root, "sbin/init"), "../lib/systemd/systemd");
    expect(lib(`sb_resolve "$ROOT" /sbin/init`).stdout).toBe(`${root}/usr/lib/systemd/systemd\n`);
  });

  it("does not climb above the root with '..'", () => {
    link(join(root, "sbin/init"), "../../../../bin/sh");
    expect(lib(`sb_resolve "$ROOT" /sbin/init`).stdout).toBe(`${root}/bin/sh\n`);
  });

  it("fails on a symlink loop", () => {
    link(join(root, "a"), "/b");
    link(join(root, "b"), "/a");
    expect(lib(`sb_resolve "$ROOT" /a`).status).toBe(1);
  });
});

describe("sb_check_init", () => {
  it("accepts an executable script whose interpreter exists in the root", () => {
    put(join(root, "bin/sh"), "", 0o755);
    put(join(root, "sbin/init"), "#! /bin/sh -e\necho\n", 0o755);
    expect(lib(`sb_check_init "$ROOT" /sbin/init`)).toMatchObject({ status: 0, stdout: "" });
  });

  it("accepts an executable binary", () => {
    put(join(root, "sbin/init"), "\x7fELF....", 0o755);
    expect(lib(`sb_check_init "$ROOT" /sbin/init`).status).toBe(0);
  });

  it("reports a missing init", () => {
    expect(lib(`sb_check_init "$ROOT" /sbin/init`)).toMatchObject({ status: 1, stdout: "/sbin/init: no such file\n" });
  });

  it("reports an init link that points nowhere inside the root", () => {
    link(join(root, "sbin/init"), "/nix/var/nix/profiles/system/init");
    expect(lib(`sb_check_init "$ROOT" /sbin/init`).stdout).toBe("/sbin/init: no such file\n");
  });

  it("reports an init that is not executable", () => {
    put(join(root, "sbin/init"), "#!/bin/sh\n", 0o644);
    expect(lib(`sb_check_init "$ROOT" /sbin/init`).stdout).toBe("/sbin/init: not executable\n");
  });

  it("reports a script whose interpreter is missing", () => {
    put(join(root, "sbin/init"), "#!/nix/store/gone-bash/bin/bash\n", 0o755);
    expect(lib(`sb_check_init "$ROOT" /sbin/init`).stdout).toBe(
      "/sbin/init: interpreter /nix/store/gone-bash/bin/bash not found or not executable\n",
    );
  });

  it("reports a directory", () => {
    put(join(root, "sbin/init/x"), "");
    expect(lib(`sb_check_init "$ROOT" /sbin/init`).stdout).toBe("/sbin/init: not a regular file\n");
  });
});

describe("sb_list_generations", () => {
  it("lists generations newest first with date, current flag and version", () => {
    generation(1, "24.05.1", 1_700_000_000);
    generation(2, "24.11.2", 1_710_000_000);
    generation(10, "25.05.10", 1_720_000_000);
    link(join(root, "nix/var/nix/profiles/system"), "system-2-link");
    expect(lines(lib(`sb_list_generations "$ROOT"`).stdout)).toEqual([
      "10|1720000000|0|25.05.10",
      "2|1710000000|1|24.11.2",
      "1|1700000000|0|24.05.1",
    ]);
  });

  it("gives an empty version when a generation has no nixos-version", () => {
    generation(3, undefined, 1_700_000_000);
    expect(lib(`sb_list_generations "$ROOT"`).stdout).toBe("3|1700000000|0|\n");
  });

  it("ignores profile links that are not system-<number>-link", () => {
    generation(1, "a", 1_700_000_000);
    link(join(root, "nix/var/nix/profiles/system-old-link"), "/nix/store/x");
    link(join(root, "nix/var/nix/profiles/per-user"), "/nix/store/y");
    expect(lines(lib(`sb_list_generations "$ROOT"`).stdout)).toEqual(["1|1700000000|0|a"]);
  });

  it("lists nothing for a root without NixOS profiles", () => {
    put(join(root, "sbin/init"), "");
    expect(lib(`sb_list_generations "$ROOT"`)).toMatchObject({ stdout: "", status: 0 });
  });

  it("formats a generation date as UTC year-month-day hours:minutes", () => {
    expect(lib(`sb_fmt_date 1700000000`).stdout).toBe("2023-11-14 22:13\n");
  });
});

describe("sb_parse_choice", () => {
  it.each([
    ["", "default"],
    ["  ", "default"],
    ["2", "boot 2"],
    [" 12 ", "boot 12"],
    ["1.3", "gen 1 3"],
    ["s", "shell"],
    ["S2", "rescue 2"],
    ["s 2", "rescue 2"],
    ["r", "reboot"],
    ["p", "poweroff"],
    ["poweroff", "poweroff"],
    ["x", "invalid"],
    ["1.", "invalid"],
    ["1.x", "invalid"],
    ["sx", "invalid"],
    ["-1", "invalid"],
  ])("reads %j as %j", (input, want) => {
    expect(lib(`sb_parse_choice '${input}'`).stdout).toBe(`${want}\n`);
  });
});

describe("sb_default_index", () => {
  beforeEach(() => put(join(sb.dir, "entries"), "sda4|sda|arch\nsda5|sda|nix os\n"));

  it("picks the entry whose label is the configured default", () => {
    expect(lib(`sb_default_index entries 'nix os'`).stdout).toBe("2\n");
  });

  it("picks the first entry when no default is configured", () => {
    expect(lib(`sb_default_index entries ''`).stdout).toBe("1\n");
  });

  it("picks the first entry and warns when the default label is absent", () => {
    const r = lib(`sb_default_index entries gone`);
    expect(r.stdout).toBe("1\n");
    expect(r.stderr).toContain("default entry 'gone' not found");
  });

  it("fails when there are no entries", () => {
    put(join(sb.dir, "none"), "");
    expect(lib(`sb_default_index none ''`)).toMatchObject({ stdout: "", status: 1 });
  });
});

