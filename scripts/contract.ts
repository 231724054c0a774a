// The shimboot disk image contract (DESIGN.md §2) as constants: the one place
// the reader, the planner and the verifier take them from.

/** GPT partition type GUIDs. */
export const TYPE_GUID = {
  chromeosKernel: "FE3A2A5D-4F32-41A7-B725-ACCC3285A309",
  chromeosRootfs: "3CB8E202-3B7E-47DD-8A3C-7FF2A13CFCEC",
  linuxData: "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
  chromeosFirmware: "CAB6E88E-ABF3-4102-A07A-D4BB9BE3C1D3",
  chromeosReserved: "2E0A753D-9E48-43B0-8337-B15192CB1B5E",
  efiSystem: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
} as const;

/** The bootloader offers every partition whose GPT name starts with this. */
export const ROOTFS_PREFIX = "shimboot_rootfs:";
/** The label reserved for the drivers partition: bind-mounted, never booted. */
export const VENDOR_LABEL = "vendor";
/** GPT partition names hold 36 UTF-16 code units. */
export const GPT_NAME_UNITS = 36;
/** ChromeOS kernel attributes the known-good shimboot images use. */
export const KERNEL_ATTRIBUTES = { successful: 1, tries: 5, priority: 10 } as const;
/** The largest kernel partition read into memory (ChromeOS uses 16–64 MiB): a bigger one is a damaged table. */
export const MAX_KERNEL_PARTITION_BYTES = 256 * 2 ** 20;
