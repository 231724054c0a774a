// shimboot/manifest.json on partition 3: what the image was built from and
// how. An image rootfs's block hash (write/block-copy.ts) is filled in once
// its copy finishes.
import { basename } from "node:path";
import type { BuildOptions } from "../commands/build-options.js";
import type { BuildInputs } from "../read/build-inputs.js";
import { VERSION } from "../version.js";
import type { Plan } from "./plan.js";
import type { Target } from "./target.js";

export type Manifest = ReturnType<typeof manifestValue>;

function manifestValue(o: BuildOptions, inputs: BuildInputs, target: Target, plan: Plan, sha: { shim: string; recovery: string | null }) {
  const rootfs = inputs.rootfs;
  return {
    tool: { name: "shimboot-nixos", version: VERSION },
    flakeRevision: o.flakeRev ?? null,
    sourceDateEpoch: o.sourceDateEpoch,
    board: target.board.name,
    boardKnown: target.board.known,
    kernelRelease: target.release,
    arch: inputs.shim.kernel.arch,
    inputs: {
      shim: { file: basename(o.shim), sha256: sha.shim },
      recovery: o.recovery ? { file: basename(o.recovery), sha256: sha.recovery } : null,
      rootfs: rootfs.kind === "dir" ? { kind: "dir", listingSha256: rootfs.identity } : { kind: "image", blockSha256: null as string | null },
      firmware: o.firmware ? { dir: basename(o.firmware) } : null,
    },
    drivers: plan.drivers,
    options: { name: o.name, drivers: o.drivers, extraSpace: o.extraSpace, bootTimeout: o.bootTimeout, wifiNetworks: inputs.wifi.length },
  };
}

/** The manifest, completed (the rootfs image's hash awaited) on demand. */
export function makeManifest(o: BuildOptions, inputs: BuildInputs, target: Target, plan: Plan, sha: { shim: string; recovery: string | null }): () => Promise<Manifest> {
  const manifest = manifestValue(o, inputs, target, plan, sha);
  return async () => {
    if (inputs.hashes.rootfsImage) manifest.inputs.rootfs = { kind: "image", blockSha256: await inputs.hashes.rootfsImage };
    return manifest;
  };
}
