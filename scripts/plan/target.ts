// Which board and kernel the image is for: the kernel release from the shim
// (its header, else ROOT-A's lib/modules), the board from ROOT-A's
// lsb-release (or --board, which must agree), and the policy for that kernel.
import { boardFromRelease, kernelVersionOf, loadBoardInfo, type KernelPolicy } from "../boards.js";
import { UserError } from "../lib/errors.js";
import type { Shim } from "../read/build-inputs.js";

export interface Target {
  release: string;
  version: string;
  board: { name: string; known: boolean };
  policy: KernelPolicy;
}

export async function resolveTarget(shim: Shim, shimPath: string, board: string | undefined): Promise<Target> {
  const release = shim.kernel.release ?? shim.rootfs?.moduleReleases[0];
  if (!release) throw new UserError(shimPath, "the kernel release cannot be determined (no version in the kernel header, no lib/modules in ROOT-A)", "this shim is not supported; please report it");
  const named = shim.rootfs?.lsbRelease.CHROMEOS_RELEASE_BOARD;
  const detected = named ? boardFromRelease(named) : null;
  if (board && detected && board !== detected) throw new UserError(shimPath, `is a shim for board ${detected}, not ${board}`, "drop --board or pass the right shim");
  const name = board ?? detected ?? "unknown";
  const version = kernelVersionOf(release);
  const info = await loadBoardInfo(version);
  return { release, version, board: { name, known: name in info.boards }, policy: info.policy! };
}
