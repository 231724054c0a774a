// Every shell script the bootloader ships (and the fixture shim's factory
// scripts) passes
// shellcheck as POSIX sh and parses under busybox ash.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { BUSYBOX, REPO_ROOT } from "./busybox-env.js";

const scripts = [
  ...["bin", "lib"].flatMap((d) =>
    readdirSync(join(REPO_ROOT, "scripts/bootloader", d)).map((f) => join(REPO_ROOT, "scripts/bootloader", d, f)),
  ),
  join(REPO_ROOT, "test/kernel/factory-init"),
  join(REPO_ROOT, "test/kernel/factory-bootstrap.sh"),
].map((p) => relative(REPO_ROOT, p));

describe("shell scripts", () => {
  it.each(scripts)("%s passes shellcheck --shell=sh", (script) => {
    const r = spawnSync("shellcheck", ["--shell=sh", "-x", script], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(r.error, "shellcheck is not installed").toBeUndefined();
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it.each(scripts)("%s parses under busybox sh", (script) => {
    const r = spawnSync(BUSYBOX, ["sh", "-n", script], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
