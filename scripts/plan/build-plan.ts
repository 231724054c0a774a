// From what was read to the plan: the seed every identifier derives from,
// then the layout (plan.ts).
import { resolve } from "node:path";
import type { BuildOptions } from "../commands/build-options.js";
import { toBytes } from "../lib/units.js";
import type { BuildInputs } from "../read/build-inputs.js";
import type { CpioEntry } from "../read/cpio.js";
import type { DriverHarvest } from "../read/drivers.js";
import { bootloaderContent, type TreeFile } from "../write/bootloader-tree.js";
import { MANIFEST_PLACEHOLDER } from "../write/bootloader-overlay.js";
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

export async function planBuild(p: PlanFor): Promise<{ plan: Plan; seed: string; shimSha: string; recoverySha: string | null }> {
  const { o, inputs, target } = p;
  const shimSha = await inputs.hashes.shim;
  const recoverySha = inputs.hashes.recovery ? await inputs.hashes.recovery : null;
  const seed = buildSeed({ v: 1, shimSha, recoverySha, rootfs: inputs.rootfs.identity, o: { ...o, out: null, json: null, dryRun: null, force: null, wifi: inputs.wifi.map((n) => n.ssid) }, firmware: o.firmware ? resolve(o.firmware) : null });
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
