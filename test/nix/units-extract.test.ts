// nix/systemd/units/extract.mjs: systemd's units/meson.build and
// units/user/meson.build (in the shapes of 257 and of 259/260) become the
// pure-Nix unit data that nix/lib/systemd-units.nix compares NixOS's unit
// lists with. The inputs here are our own files of those shapes.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const extract = join(repo, "nix/systemd/units/extract.mjs");
const nixOpts = ["--option", "build-users-group", ""];

// System units as 257, 259 and 260 list them: dicts with conditions and
// symlinks (wants directories end in '/'), a jinja template (.in), an entry
// renamed on install ('name', 259.8 and later), runlevel aliases chosen by a
// `VAR ? [...] : []` on a conf.get variable, and the install loop after it.
const systemMeson = `# SPDX-License-Identifier: LGPL-2.1-or-later

runlevels = conf.get('HAVE_SYSV_COMPAT') == 1

units = [
        { 'file' : 'basic.target' },
        {
          'file' : 'cryptsetup.target',
          'conditions' : ['HAVE_LIBCRYPTSETUP'],
          'symlinks' : ['sysinit.target.wants/'],
        },
        {
          'file' : 'graphical.target',
          'symlinks' : ['default.target'] + (runlevels ? ['runlevel5.target'] : []),
        },
        {
          'file' : 'systemd-hostnamed.service.in',
          'conditions' : ['ENABLE_HOSTNAMED'],
          'symlinks' : ['dbus-org.freedesktop.hostname1.service'],
        },
        {
          'file' : 'system-systemd-cryptsetup.slice',
          'name' : 'system-systemd\\\\x2dcryptsetup.slice',
          'conditions' : ['HAVE_LIBCRYPTSETUP'],
        },
        {
          'file' : 'ldconfig.service',
          'conditions' : ['ENABLE_LDCONFIG'],
          'symlinks' : ['sysinit.target.wants/'],
        },
        {
          'file' : 'systemd-udevd.service.in',
          'symlinks' : ['sysinit.target.wants/'],
          'install_tag' : 'udev',
        },
]

foreach unit : units
        source = unit.get('file')
        if source.endswith('.in')
                name = source.substring(0, -3)
        endif
        foreach target : unit.get('symlinks', [])
                if target.endswith('/')
                        install_emptydir(systemunitdir / target)
                endif
        endforeach
endforeach
`;
// User units as 257 lists them: plain strings, one added under a condition.
const userMeson257 = `units = [
        'basic.target',
        'systemd-exit.service',
]

if conf.get('ENABLE_XDG_AUTOSTART') == 1
        units += 'xdg-desktop-autostart.target'
endif

foreach file : units
        install_data(file,
                     install_dir : userunitdir)
endforeach
`;
// ... and as 259 and 260 do: dicts.
const userMeson260 = `units = [
        { 'file' : 'basic.target' },
        {
          'file' : 'systemd-ask-password.socket',
          'symlinks' : ['sockets.target.wants/']
        },
        {
          'file' : 'xdg-desktop-autostart.target',
          'conditions' : ['ENABLE_XDG_AUTOSTART'],
        }
]
`;

function extractFrom(system: string, user: string) {
  const w = mkdtempSync(join(tmpdir(), "units-"));
  try {
    mkdirSync(join(w, "units/user"), { recursive: true });
    writeFileSync(join(w, "units/meson.build"), system);
    writeFileSync(join(w, "units/user/meson.build"), user);
    const r = spawnSync("node", [extract, w, "v999.1", "0".repeat(40)], { encoding: "utf8" });
    if (r.status !== 0) return { status: r.status, stderr: r.stderr, data: null };
    writeFileSync(join(w, "data.nix"), r.stdout);
    const e = spawnSync("nix-instantiate", [...nixOpts, "--eval", "--strict", "--json", join(w, "data.nix")], { encoding: "utf8" });
    expect(e.status, e.stderr).toBe(0);
    return { status: 0, stderr: r.stderr, data: JSON.parse(e.stdout) };
  } finally { rmSync(w, { recursive: true, force: true }); }
}

describe("nix/systemd/units/extract.mjs", () => {
  const { data } = extractFrom(systemMeson, userMeson257);
  it("writes a Nix file naming the tag and commit it was read from", () => {
    expect(data).toMatchObject({ tag: "v999.1", version: "999.1", commit: "0".repeat(40) });
  });
  it("lists every installed system unit with the meson conditions it is built under", () => {
    expect(data.system).toMatchObject({
      "basic.target": [], "cryptsetup.target": ["HAVE_LIBCRYPTSETUP"], "ldconfig.service": ["ENABLE_LDCONFIG"],
    });
  });
  it("names a template's unit without .in and a renamed file by its installed name", () => {
    expect(data.system["systemd-hostnamed.service"]).toEqual(["ENABLE_HOSTNAMED"]);
    expect(data.system).not.toHaveProperty("systemd-hostnamed.service.in");
    expect(data.system["system-systemd\\x2dcryptsetup.slice"]).toEqual(["HAVE_LIBCRYPTSETUP"]);
    expect(data.system).not.toHaveProperty("system-systemd-cryptsetup.slice");
  });
  it("lists an alias with its unit's conditions, and a ternary's alias under that variable's condition", () => {
    expect(data.system["dbus-org.freedesktop.hostname1.service"]).toEqual(["ENABLE_HOSTNAMED"]);
    expect(data.system["default.target"]).toEqual([]);
    expect(data.system["runlevel5.target"]).toEqual(["HAVE_SYSV_COMPAT"]);
  });
  it("lists each wants directory with the units linked into it", () => {
    expect(data.systemWants["sysinit.target.wants"]).toEqual([
      { unit: "cryptsetup.target", conditions: ["HAVE_LIBCRYPTSETUP"] },
      { unit: "ldconfig.service", conditions: ["ENABLE_LDCONFIG"] },
      { unit: "systemd-udevd.service", conditions: [] },
    ]);
  });
  it("reads 257's user list of strings, with `units +=` under a conf.get condition", () => {
    expect(data.user).toEqual({ "basic.target": [], "systemd-exit.service": [], "xdg-desktop-autostart.target": ["ENABLE_XDG_AUTOSTART"] });
    expect(data.userWants).toEqual({});
  });
  it("reads 259's and 260's user list of dicts", () => {
    const { data: d } = extractFrom(systemMeson, userMeson260);
    expect(d.user).toEqual({ "basic.target": [], "systemd-ask-password.socket": [], "xdg-desktop-autostart.target": ["ENABLE_XDG_AUTOSTART"] });
    expect(d.userWants).toEqual({ "sockets.target.wants": [{ unit: "systemd-ask-password.socket", conditions: [] }] });
  });
  it("refuses a unit entry with a key it does not know, naming it", () => {
    const r = extractFrom(systemMeson.replace("{ 'file' : 'basic.target' }", "{ 'file' : 'basic.target', 'alias_of' : 'x' }"), userMeson257);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("unknown unit key 'alias_of'");
  });
  it("refuses a symlink expression it does not understand", () => {
    const r = extractFrom(systemMeson.replace("(runlevels ? ['runlevel5.target'] : [])", "(runlevels ? ['a.target'] : ['b.target'])"), userMeson257);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("only 'VAR ? [...] : []' is understood");
  });
  it("prints its usage and exits 2 without arguments", () => {
    const r = spawnSync("node", [extract], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: extract.mjs SYSTEMD_SRC TAG COMMIT");
  });
});

describe("the committed unit data", () => {
  const dir = join(repo, "nix/systemd/units");
  const files = readdirSync(dir).filter((f) => /^systemd-\d+\.nix$/.test(f));
  it("has a file per systemd major the flake builds", () => {
    expect(files.sort()).toEqual(["systemd-257.nix", "systemd-259.nix", "systemd-260.nix"]);
  });
  for (const f of files) {
    it(`${f} says it was generated from a tag of its major`, () => {
      const text = readFileSync(join(dir, f), "utf8");
      const major = /systemd-(\d+)\.nix/.exec(f)![1];
      expect(text).toMatch(new RegExp(`generated by nix/systemd/units/extract\\.mjs`));
      expect(text).toMatch(new RegExp(`tag = "v${major}\\.\\d+";`));
      expect(text).toMatch(/commit = "[0-9a-f]{40}";/);
    });
  }
});
