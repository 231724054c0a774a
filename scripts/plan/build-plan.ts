// From what was read to the plan: the seed every identifier derives from,
// then the layout (plan.ts).
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { BuildOptions } from "../commands/build-options.js";
import { toBytes } from "../lib/units.js";
import type { BuildInputs } from "../read/build-inputs.js";
import type { CpioEntry } from "../read/cpio.js";
import type { DriverHarvest } from "../read/drivers.js";
import { bootloaderContent, type TreeFile } from "../write/bootloader-tree.js";
import { MANIFEST_PLACEHOLDER } from "../write/bootloader-overlay.js";
import { treeIdentity } from "../read/tree-identity.js";
import { buildSeed } from "./ids.js";
import { makePlan, type Plan } from "./plan.js";
import type { Target } from "./target.js";

export interface PlanFor {
  o: BuildOptions;
  inputs: BuildInputs;
  target: Target;
  drivers: DriverHarvest | null;
  initramfs: CpioEntry[];
  overlay: TreeFile[];
}

function overlayIdentity(files: TreeFile[]): string {
  const h = createHash("sha256");
  for (const f of files) h.update(`${f.path}\0${f.mode}\0`).update(f.content).update("\0");
  return h.digest("hex");
}

export async function planBuild(p: PlanFor): Promise<{ plan: Plan; seed: string; shimSha: string; recoverySha: string | null }> {
  const { o, inputs, target } = p;
  const shimSha = await inputs.hashes.shim;
  const recoverySha = inputs.hashes.recovery ? await inputs.hashes.recovery : null;
  const seed = buildSeed({
    v: 2,
    // what the inputs hold, never where they are: the same files reached by
    // another path or from another directory give the same image
    shimSha,
    recoverySha,
    rootfs: inputs.rootfs.identity,
    firmware: o.firmware ? await treeIdentity(o.firmware) : null,
    bootloader: overlayIdentity(p.overlay),
    wifi: inputs.wifi.map((n) => n.ssid),
    options: { board: o.board ?? null, name: o.name, drivers: o.drivers, extraSpace: o.extraSpace, bootTimeout: o.bootTimeout, flakeRev: o.flakeRev ?? null, sourceDateEpoch: o.sourceDateEpoch },
  });
  const kernPart = inputs.shim.kernelPartition;
  const plan = makePlan({
    out: resolve(o.out),
    seed,
    sourceDateEpoch: o.sourceDateEpoch,
    board: target.board,
    kernel: { release: target.release, version: target.version, arch: inputs.shim.kernel.arch, partitionPath: o.shim, offset: toBytes(kernPart.start), sectors: kernPart.size },
    policy: target.policy,
    bootloaderContent: bootloaderContent(p.initramfs, [...p.overlay, MANIFEST_PLACEHOLDER]),
    drivers: p.drivers,
    driversMode: o.drivers,
    rootfs: inputs.rootfs,
    rootfsName: o.name,
    extraSpace: o.extraSpace,
    wifiNetworks: inputs.wifi.map((n) => n.ssid),
    bootTimeout: o.bootTimeout,
  });
  return { plan, seed, shimSha, recoverySha };
}
