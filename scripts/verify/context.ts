// What the partition checks share: the image, its table, the kernel policy.
import type { Partition } from "../read/gpt.js";
import type { ImageFile } from "../read/image-file.js";
import type { CheckList } from "./check.js";
import type { ExtProbe } from "./ext-probe.js";

export interface KernelFeatures {
  /** the version the policy was chosen for, e.g. "4.14.91" */
  kernel: string;
  ext4: string[];
  ext2: string[];
}

export interface VerifyContext {
  img: ImageFile;
  partitions: Partition[];
  list: CheckList;
  /** kernel release of p2 (`uname -r`), when readable */
  release: string | null;
  /** file system features the shim kernel mounts, when its version is known */
  features: KernelFeatures | null;
  /** the e2fsck and debugfs probes of a partition's file system */
  ext: (p: Partition) => ExtProbe;
}
