// Build tells verify what it already knows of the shim's KERN-A (the kernel
// read from it and futility's verdict, each tied to the SHA-256 of the bytes
// judged). verify reuses them for p2 only when p2 is those very bytes.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { copyFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { overwrite } from "../fixtures/chromeos-disk.js";
import { readShim } from "../../scripts/read/chromeos-image.js";
import { verifyImage } from "../../scripts/verify/verify.js";
import type { KnownKernel } from "../../scripts/verify/kernel.js";
import { makeContractImage, scratch } from "./contract-image.js";
import { failedIds } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
let n = 0;
beforeAll(async () => void ({ dir, cleanup } = await scratch()));
afterAll(async () => cleanup());

async function setup() {
  const img = await makeContractImage(dir, { name: `known-${n++}` });
  const shim = await readShim(img.shimPath, { signature: true });
  await shim.close();
  const known: KnownKernel = { sha256: (await shim.kernelSha256)!, info: shim.kernel, signature: shim.kernelSignature! };
  const run = (k: KnownKernel) => verifyImage(img.path, { shim: img.shimPath, shimKernelPartition: shim.kernelPartition, knownKernel: k });
  return { img, known, run };
}

describe("verify with build's knowledge of the shim's KERN-A", () => {
  it("passes a conforming image", async () => {
    const { known, run } = await setup();
    expect(failedIds(await run(known))).toEqual([]);
  });

  it("takes futility's verdict on the shim's KERN-A for a p2 of the same bytes", async () => {
    const { known, run } = await setup();
    const planted = { ...known, signature: known.signature.then((s) => ({ ...s, problem: "the planted verdict" })) };
    const r = await run(planted);
    expect(failedIds(r)).toEqual(["p2-vboot"]);
    expect(r.checks.find((c) => c.id === "p2-vboot")!.message).toBe("p2 kernel: the vboot blob does not verify: the planted verdict");
  });

  it("judges p2 itself when build's knowledge was about other bytes", async () => {
    const { known, run } = await setup();
    const other = { ...known, sha256: "0".repeat(64), signature: known.signature.then(() => ({ sha256: "0".repeat(64), problem: "not about p2" })) };
    expect(failedIds(await run(other))).toEqual([]);
  });

  it("compares p2 with the KERN-A bytes build read, by their SHA-256, not with the shim file as it is now", async () => {
    const { img, known } = await setup();
    const shim = await readShim(img.shimPath);
    await shim.close();
    const changed = join(dir, `changed-${n++}.bin`); // a copy: the fixture is shared
    await copyFile(img.shimPath, changed);
    await overwrite(changed, shim.kernelPartition.start * 512 + 100_000, Buffer.from("changed after build read it"));
    const r = await verifyImage(img.path, { shim: changed, shimKernelPartition: shim.kernelPartition, knownKernel: known });
    expect(failedIds(r)).toEqual([]);
    expect(r.checks.find((c) => c.id === "p2-shim-kernel")!.message).toMatch(/identical to the shim's KERN-A/);
  });

  it("still fails p2-vboot and p2-shim-kernel when p2's signed command line was edited", async () => {
    const { img, known, run } = await setup();
    const p2 = img.starts.get(2)! * 512;
    const at = (await readFile(img.path)).indexOf("kern_guid=%U", p2, "latin1");
    await overwrite(img.path, at, Buffer.from("KERN"));
    const r = await run(known);
    expect(failedIds(r)).toEqual(["p2-vboot", "p2-shim-kernel"]);
    expect(r.checks.find((c) => c.id === "p2-vboot")!.message).toMatch(/^p2 kernel: the vboot blob does not verify: .*body/i);
  });
});
