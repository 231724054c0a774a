// /etc/shimboot/bootloader.conf parsing (sb_conf_load): the format written by
// `shimboot build`, documented in scripts/bootloader/README.md.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { makeSandbox, put, runLib, type Sandbox } from "./busybox-env.js";

let sb: Sandbox;
beforeEach(() => {
  sb = makeSandbox();
});
afterEach(() => sb.cleanup());

function load(content: string | undefined) {
  const conf = join(sb.dir, "bootloader.conf");
  if (content !== undefined) put(conf, content);
  const r = runLib(sb, `sb_conf_load "$CONF"; printf '%s\\n%s\\n' "$SB_TIMEOUT" "$SB_DEFAULT"`, { CONF: conf });
  const [timeout, def] = r.stdout.split("\n");
  return { timeout, def, stderr: r.stderr, status: r.status };
}

describe("bootloader.conf", () => {
  it("gives a 5 second timeout and no default entry when the file is missing", () => {
    expect(load(undefined)).toMatchObject({ timeout: "5", def: "", status: 0 });
  });

  it("reads SHIMBOOT_TIMEOUT and SHIMBOOT_DEFAULT", () => {
    expect(load("SHIMBOOT_TIMEOUT=3\nSHIMBOOT_DEFAULT=nixos\n")).toMatchObject({ timeout: "3", def: "nixos" });
  });

  it("accepts a timeout of 0 (boot the default at once)", () => {
    expect(load("SHIMBOOT_TIMEOUT=0\n").timeout).toBe("0");
  });

  it("removes one pair of matching outer quotes from a value", () => {
    expect(load(`SHIMBOOT_DEFAULT="my system"\n`).def).toBe("my system");
    expect(load(`SHIMBOOT_DEFAULT='it's'\n`).def).toBe("it's");
    expect(load(`SHIMBOOT_DEFAULT=""x""\n`).def).toBe(`"x"`);
  });

  it("keeps spaces, colons and equals signs inside an unquoted value", () => {
    expect(load("SHIMBOOT_DEFAULT=a b:c=d\n").def).toBe("a b:c=d");
  });

  it("skips comments and blank lines", () => {
    expect(load("# comment\n\n   \nSHIMBOOT_TIMEOUT=7\n  # indented comment\n").timeout).toBe("7");
  });

  it("never runs or expands anything written in the file", () => {
    const marker = join(sb.dir, "pwned");
    const r = load(`SHIMBOOT_DEFAULT=$(touch ${marker})\`touch ${marker}\`$HOME\ntouch ${marker}\n`);
    expect(r.def).toBe(`$(touch ${marker})\`touch ${marker}\`$HOME`);
    expect(existsSync(marker)).toBe(false);
  });

  it("replaces a timeout that is not a number by the default and says so", () => {
    const r = load("SHIMBOOT_TIMEOUT=soon\n");
    expect(r.timeout).toBe("5");
    expect(r.stderr).toContain("SHIMBOOT_TIMEOUT='soon' is not a number");
  });

  it("reads a timeout with leading zeros as decimal", () => {
    expect(load("SHIMBOOT_TIMEOUT=010\n").timeout).toBe("10");
  });

  it("ignores unknown keys with a warning", () => {
    const r = load("SHIMBOOT_COLOUR=blue\nSHIMBOOT_TIMEOUT=2\n");
    expect(r.timeout).toBe("2");
    expect(r.stderr).toContain("unknown key 'SHIMBOOT_COLOUR'");
  });

  it("reads files with CRLF line endings", () => {
    expect(load("SHIMBOOT_TIMEOUT=4\r\nSHIMBOOT_DEFAULT=arch\r\n")).toMatchObject({ timeout: "4", def: "arch" });
  });

  it("reads a last line that has no newline", () => {
    expect(load("SHIMBOOT_TIMEOUT=4\nSHIMBOOT_DEFAULT=arch").def).toBe("arch");
  });
});
