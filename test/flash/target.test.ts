// Telling a USB stick from everything else, in a fake /sys and /proc: whole
// disk or partition, removable or USB, mounted, root, swap, held, size.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { UserError } from "../../scripts/lib/errors.js";
import { checkTarget, describe as describeTarget, describeBlockDevice, findInUse, splitDev, type Host, type Target } from "../../scripts/flash/target.js";
import { tempDir } from "../helpers/rootfs.js";

let root: string;
let cleanup: () => Promise<void>;
let host: Host;
beforeEach(async () => {
  ({ path: root, cleanup } = await tempDir("shimboot-sysfs-"));
  host = { sys: join(root, "sys"), proc: join(root, "proc") };
  await mkdir(join(host.proc, "self"), { recursive: true });
  await writeFile(join(host.proc, "self/mountinfo"), "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n");
  await writeFile(join(host.proc, "swaps"), "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
});
afterEach(async () => {
  await cleanup();
});

async function put(path: string, text: string) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text + "\n");
}

interface FakeDisk {
  name: string;
  major: number;
  minor: number;
  /** path under /sys/devices */
  bus: string;
  sectors: number;
  removable?: boolean;
  model?: string;
  vendor?: string;
  partitions?: number;
  logicalBlockSize?: number;
  ro?: boolean;
  holders?: string[];
}

/** A disk as the kernel shows it: /sys/devices/…/block/NAME, /sys/dev/block/M:m links, partitions inside. */
async function fakeDisk(d: FakeDisk): Promise<string> {
  const dir = join(host.sys, "devices", d.bus, "block", d.name);
  await put(join(dir, "dev"), `${d.major}:${d.minor}`);
  await put(join(dir, "size"), String(d.sectors));
  await put(join(dir, "removable"), d.removable ? "1" : "0");
  await put(join(dir, "ro"), d.ro ? "1" : "0");
  await put(join(dir, "queue/logical_block_size"), String(d.logicalBlockSize ?? 512));
  if (d.model) await put(join(dir, "device/model"), d.model.padEnd(16));
  if (d.vendor) await put(join(dir, "device/vendor"), d.vendor.padEnd(8));
  await mkdir(join(dir, "holders"), { recursive: true });
  for (const h of d.holders ?? []) await writeFile(join(dir, "holders", h), "");
  await mkdir(join(host.sys, "dev/block"), { recursive: true });
  await symlink(dir, join(host.sys, "dev/block", `${d.major}:${d.minor}`));
  for (let i = 1; i <= (d.partitions ?? 0); i++) {
    const p = join(dir, `${d.name}${i}`);
    await put(join(p, "partition"), String(i));
    await put(join(p, "dev"), `${d.major}:${d.minor + i}`);
    await mkdir(join(p, "holders"), { recursive: true });
    await symlink(p, join(host.sys, "dev/block", `${d.major}:${d.minor + i}`));
  }
  return dir;
}

const usbStick: FakeDisk = { name: "sdb", major: 8, minor: 16, bus: "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0", sectors: 60062500, removable: true, model: "Ultra", vendor: "SanDisk", partitions: 2 };
const internalDisk: FakeDisk = { name: "nvme0n1", major: 259, minor: 0, bus: "pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0", sectors: 1000215216, model: "Samsung SSD 980" };
const check = (t: Target, extra: Partial<Parameters<typeof checkTarget>[1]> = {}) => checkTarget(t, { forceNonRemovable: false, imageSize: 8 * 2 ** 30, imagePath: "img.bin", imageFileId: "0:0", ...extra }, host);

describe("describeBlockDevice", () => {
  it("describes a USB stick: kernel name, size from sysfs sectors × 512, vendor, model, removable, USB, partitions", async () => {
    await fakeDisk(usbStick);
    const t = await describeBlockDevice("/dev/disk/by-id/usb-SanDisk", { major: 8, minor: 16 }, host);
    expect(t).toMatchObject({ path: "/dev/disk/by-id/usb-SanDisk", kind: "block", name: "sdb", size: 60062500 * 512, vendor: "SanDisk", model: "Ultra", removable: true, usb: true, partitions: ["sdb1", "sdb2"], devs: ["8:16", "8:17", "8:18"] });
    expect(describeTarget(t)).toBe("SanDisk Ultra, 28.6 GiB, removable, USB");
  });

  it("refuses a partition and names its whole disk", async () => {
    await fakeDisk(usbStick);
    const p = describeBlockDevice("/dev/sdb1", { major: 8, minor: 17 }, host);
    await expect(p).rejects.toThrow(UserError);
    await expect(p).rejects.toMatchObject({ subject: "/dev/sdb1", message: "is a partition (sdb1) of the disk sdb, not a whole disk", hint: expect.stringContaining("/dev/sdb") });
  });

  it("refuses a device number sysfs does not list", async () => {
    await expect(describeBlockDevice("/dev/sdq", { major: 65, minor: 0 }, host)).rejects.toMatchObject({ message: expect.stringContaining("lists no block device 65:0") });
  });

  it("refuses a drive with 4096-byte logical sectors", async () => {
    await fakeDisk({ ...usbStick, logicalBlockSize: 4096 });
    await expect(describeBlockDevice("/dev/sdb", { major: 8, minor: 16 }, host)).rejects.toMatchObject({ message: expect.stringContaining("4096-byte logical sectors") });
  });

  it("refuses a read-only drive", async () => {
    await fakeDisk({ ...usbStick, ro: true });
    await expect(describeBlockDevice("/dev/sdb", { major: 8, minor: 16 }, host)).rejects.toMatchObject({ message: "is read-only" });
  });
});

describe("checkTarget", () => {
  it("accepts an unmounted USB stick larger than the image", async () => {
    await fakeDisk(usbStick);
    await expect(check(await describeBlockDevice("/dev/sdb", { major: 8, minor: 16 }, host))).resolves.toBeUndefined();
  });

  it("refuses a fixed internal disk unless --force-non-removable", async () => {
    await fakeDisk(internalDisk);
    const t = await describeBlockDevice("/dev/nvme0n1", { major: 259, minor: 0 }, host);
    await expect(check(t)).rejects.toMatchObject({ message: "is not a removable or USB drive (Samsung SSD 980, 476.9 GiB, fixed disk): it may be an internal disk", hint: expect.stringContaining("--force-non-removable") });
    await expect(check(t, { forceNonRemovable: true })).resolves.toBeUndefined();
  });

  it("accepts a non-removable disk on USB (a USB SSD)", async () => {
    await fakeDisk({ ...usbStick, removable: false });
    await expect(check(await describeBlockDevice("/dev/sdb", { major: 8, minor: 16 }, host))).resolves.toBeUndefined();
  });

  it("refuses a drive whose partition is mounted, naming the mount point", async () => {
    await fakeDisk(usbStick);
    await writeFile(join(host.proc, "self/mountinfo"), "27 1 254:0 / / rw - ext4 /dev/vda rw\n90 27 8:17 / /media/me/My\\040Files rw,nosuid - vfat /dev/sdb1 rw\n");
    await expect(check(await describeBlockDevice("/dev/sdb", { major: 8, minor: 16 }, host))).rejects.toMatchObject({ message: "is mounted (/media/me/My Files)", hint: expect.stringContaining("unmount") });
  });

  it("refuses a drive mounted under a source path whose device number differs (btrfs), by its name", async () => {
    await fakeDisk(usbStick);
    await writeFile(join(host.proc, "self/mountinfo"), "90 27 0:45 / /mnt/stick rw - btrfs /dev/sdb2 rw\n");
    await expect(check(await describeBlockDevice("/dev/sdb", { major: 8, minor: 16 }, host))).rejects.toMatchObject({ message: "is mounted (/mnt/stick)" });
  });

  it("refuses the disk holding the running system's root", async () => {
    await fakeDisk({ ...usbStick, partitions: 3 });
    await writeFile(join(host.proc, "self/mountinfo"), "27 1 8:19 / / rw - ext4 /dev/sdb3 rw\n28 27 8:17 / /boot rw - vfat /dev/sdb1 rw\n");
    await expect(check(await describeBlockDevice("/dev/sdb", { major: 8, minor: 16 }, host))).rejects.toMatchObject({ message: "holds the running system's root file system (/)" });
  });

  it("refuses a drive in use as swap", async () => {
    await fakeDisk(usbStick);
    await writeFile(join(host.proc, "swaps"), "Filename\tType\tSize\tUsed\tPriority\n/dev/sdb2                               partition\t2097148\t0\t-2\n");
    await expect(check(await describeBlockDevice("/dev/sdb", { major: 8, minor: 16 }, host))).rejects.toMatchObject({ message: "is in use as swap (/dev/sdb2)" });
  });

  it("refuses a drive held by device mapper (LUKS, LVM)", async () => {
    await fakeDisk({ ...usbStick, holders: ["dm-3"] });
    const t = await describeBlockDevice("/dev/sdb", { major: 8, minor: 16 }, host);
    expect(await findInUse(t, host)).toBe("is in use by dm-3 (device mapper, RAID, LVM or LUKS)");
    await expect(check(t)).rejects.toThrow(UserError);
  });

  it("refuses a drive smaller than the image, giving both sizes", async () => {
    await fakeDisk({ ...usbStick, sectors: 7_800_000 });
    await expect(check(await describeBlockDevice("/dev/sdb", { major: 8, minor: 16 }, host))).rejects.toMatchObject({
      subject: "/dev/sdb",
      message: `is 3.72 GiB (${7_800_000 * 512} bytes), smaller than the image img.bin (8.00 GiB, ${8 * 2 ** 30} bytes)`,
    });
  });
});

describe("splitDev", () => {
  it("decodes Linux device numbers, large majors and minors included", () => {
    // glibc's makedev
    const makedev = (M: bigint, m: bigint) => (m & 0xffn) | ((M & 0xfffn) << 8n) | ((m & ~0xffn) << 12n) | ((M & ~0xfffn) << 32n);
    expect(splitDev(makedev(8n, 17n))).toEqual({ major: 8, minor: 17 });
    expect(splitDev(makedev(259n, 0n))).toEqual({ major: 259, minor: 0 });
    expect(splitDev(makedev(4100n, 0x12345n))).toEqual({ major: 4100, minor: 0x12345 });
  });
});
