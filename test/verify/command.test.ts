// `shimboot verify` as a command: the report a user reads, the JSON a script
// reads, the exit status, and bad input files.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatVerify, verifyCommand } from "../../scripts/commands/verify.js";
import { UserError } from "../../scripts/lib/errors.js";
import { fixture } from "../fixtures/fixtures.js";
import { makeContractImage, scratch, type ContractImage } from "./contract-image.js";

$.quiet = true;

let dir: string;
let cleanup: () => Promise<void>;
let good: ContractImage;
let bad: ContractImage;
beforeAll(async () => {
  ({ dir, cleanup } = await scratch());
  good = await makeContractImage(dir, { name: "good" });
  bad = await makeContractImage(dir, {
    name: "bad",
    tweak: (l) => {
      l.parts.find((p) => p.index === 2)!.attrs = { successful: 0, tries: 15, priority: 15 };
    },
  });
});
afterAll(async () => {
  await cleanup();
});

async function run(image: string, opts: { shim?: string; json?: boolean } = {}) {
  let out = "";
  const code = await verifyCommand(image, { ...opts, write: (t) => (out += t) });
  return { code, out };
}

describe("shimboot verify", () => {
  it("prints one ok line per check and a summary, and exits 0 for a conforming image", async () => {
    const r = await run(good.path, { shim: good.shimPath });
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines).toContain("ok   p3 bootloader: bin/init present, executable");
    expect(lines.filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(lines.at(-1)).toMatch(new RegExp(`^${good.path}: all \\d+ checks passed: a valid shimboot image$`));
  });

  it("prints a FAIL line saying what is wrong and exits 1 when an item fails", async () => {
    const r = await run(bad.path);
    expect(r.code).toBe(1);
    expect(r.out).toContain("FAIL p2 kernel: attributes are successful=0 tries=15 priority=15, must be successful=1 tries=5 priority=10");
    expect(r.out.trimEnd().split("\n").at(-1)).toMatch(/: 1 of \d+ checks failed: not a valid shimboot image$/);
  });

  it("gives { ok, checks: [{ id, ok, message, partition? }] } with --json", async () => {
    const r = await run(bad.path, { json: true });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.ok).toBe(false);
    expect(j.checks.find((c: { id: string }) => c.id === "p2-attributes")).toEqual({ id: "p2-attributes", ok: false, message: expect.stringContaining("priority=15"), partition: 2 });
    expect(j.checks.find((c: { id: string }) => c.id === "gpt")).toEqual({ id: "gpt", ok: true, message: expect.any(String) });
    for (const c of j.checks) expect(Object.keys(c).sort()).toEqual(expect.arrayContaining(["id", "message", "ok"]));
  });

  it("formats a result without touching any file", () => {
    const text = formatVerify("x.bin", { ok: false, checks: [{ id: "a", ok: true, message: "p1 state: fine" }, { id: "b", ok: false, message: "p3 bootloader: broken", partition: 3 }] });
    expect(text).toBe("ok   p1 state: fine\nFAIL p3 bootloader: broken\n\nx.bin: 1 of 2 checks failed: not a valid shimboot image");
  });

  it("throws the reader's UserError for a missing image", async () => {
    const missing = join(dir, "nope.bin");
    await expect(run(missing)).rejects.toThrow(UserError);
    await expect(run(missing)).rejects.toMatchObject({ subject: missing, message: "no such file", exitCode: 1 });
  });

  it("throws the reader's UserError for a directory passed as the image", async () => {
    const d = join(dir, "a-dir");
    await mkdir(d, { recursive: true });
    await expect(run(d)).rejects.toMatchObject({ subject: d, message: expect.stringContaining("is a directory") });
  });

  it("throws the reader's UserError when --shim is a recovery image, not an RMA shim", async () => {
    const recovery = await fixture("recovery-x86");
    await expect(run(good.path, { shim: recovery })).rejects.toMatchObject({ subject: recovery, message: expect.stringContaining("recovery image") });
  });

  it("reports a file without any GPT as a failed gpt check, not a crash", async () => {
    const blank = join(dir, "blank.bin");
    await writeFile(blank, Buffer.alloc(1024 * 1024, 0));
    const r = await run(blank, { json: true });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.checks).toEqual([{ id: "gpt", ok: false, message: expect.stringMatching(/^gpt: no valid GPT/) }]);
  });
});
