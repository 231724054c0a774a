// The partition layout of a shimboot image (DESIGN.md §2): what goes where,
// in sectors, aligned to 1 MiB. Pure: the same numbers in, the same table out.
import { KERNEL_ATTRIBUTES, ROOTFS_PREFIX, TYPE_GUID, VENDOR_LABEL } from "../contract.js";
import { MiB, SECTOR_SIZE, alignUp, sectors, toSectorsCeil, type Bytes, type Sectors } from "../lib/units.js";

export const ALIGN: Sectors = sectors(MiB / SECTOR_SIZE);
/** Secondary GPT at the end: entries then header. */
export const GPT_SECONDARY: Sectors = sectors(33);

export const STATE_BYTES = MiB as Bytes;

export type PartitionRole = "state" | "kernel" | "bootloader" | "vendor" | "rootfs";

export interface LayoutRequest {
  kernelSectors: Sectors;
  bootloaderBytes: Bytes;
  vendorBytes: Bytes | null;
  rootfsBytes: Bytes;
  rootfsName: string;
}

export interface LayoutPartition {
  index: number;
  role: PartitionRole;
  label: string;
  type: string;
  start: Sectors;
  size: Sectors;
  attributes: typeof KERNEL_ATTRIBUTES | null;
}

export interface Layout {
  partitions: LayoutPartition[];
  totalSectors: Sectors;
}


export function rootfsPartitionName(name: string): string {
  return `${ROOTFS_PREFIX}${name}`;
}

export function layoutImage(req: LayoutRequest): Layout {
  const parts: Omit<LayoutPartition, "index" | "start">[] = [
    { role: "state", label: "STATE", type: TYPE_GUID.linuxData, size: toSectorsCeil(STATE_BYTES), attributes: null },
    // the shim's KERN-A, exactly its size: never assume 32 MiB
    { role: "kernel", label: "KERN-A", type: TYPE_GUID.chromeosKernel, size: req.kernelSectors, attributes: KERNEL_ATTRIBUTES },
    // bootstrap.sh mounts kernel+1, which must be typed ChromeOS rootfs
    { role: "bootloader", label: "ROOT-A", type: TYPE_GUID.chromeosRootfs, size: toSectorsCeil(req.bootloaderBytes), attributes: null },
  ];
  if (req.vendorBytes !== null) {
    parts.push({ role: "vendor", label: rootfsPartitionName(VENDOR_LABEL), type: TYPE_GUID.linuxData, size: toSectorsCeil(req.vendorBytes), attributes: null });
  }
  // last, so that first boot can grow it to the whole USB drive
  parts.push({ role: "rootfs", label: rootfsPartitionName(req.rootfsName), type: TYPE_GUID.linuxData, size: toSectorsCeil(req.rootfsBytes), attributes: null });

  let next: Sectors = ALIGN;
  const partitions = parts.map((p, i) => {
    const start = alignUp(next, ALIGN);
    next = sectors(start + p.size);
    return { ...p, index: i + 1, start };
  });
  const totalSectors = alignUp(sectors(next + GPT_SECONDARY), ALIGN);
  return { partitions, totalSectors };
}
