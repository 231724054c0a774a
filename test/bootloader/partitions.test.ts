// Finding shimboot partitions (GPT name shimboot_rootfs:<label>) in a fake
// /sys tree, device naming, and telling the disk the shim booted from.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { fakeCommand, fakeDisk, fakePartition, makeSandbox, put, runLib, type Sandbox } from "./busybox-env.js";

let sb: Sandbox;
let sysfs: string;
beforeEach(() => {
  sb = makeSandbox();
  sysfs = join(sb.dir, "sys");
});
afterEach(() => sb.cleanup());

const lib = (script: string, env: Record<string, string> = {}) =>
  runLib(sb, script, { SB_SYSFS: sysfs, SB_DEV: join(sb.dir, "dev"), ...env });
const lines = (s: string) => s.split("\n").filter(Boolean);

describe("sb_label_of_name", () => {
  it("returns everything after the prefix, spaces and colons included", () => {
    expect(lib(`sb_label_of_name 'shimboot_rootfs:my os: v2'`).stdout).toBe("my os: v2\n");
  });

  it("rejects names without the exact prefix", () => {
    for (const name of ["STATE", "Shimboot_rootfs:x", "shimboot_rootfs", "xshimboot_rootfs:y"]) {
      expect(lib(`sb_label_of_name '${name}'`).status, name).toBe(1);
    }
  });
});

describe("device names", () => {
  it.each([
    ["sda", 3, "sda3"],
    ["vdb", 12, "vdb12"],
    ["mmcblk0", 3, "mmcblk0p3"],
    ["nvme0n1", 4, "nvme0n1p4"],
  ])("partition %s %i is %s", (disk, n, dev) => {
    expect(lib(`sb_part_dev ${disk} ${n}`).stdout).toBe(`${dev}\n`);
  });

  it.each([
    ["sda3", 3, "sda"],
    ["sda12", 12, "sda"],
    ["mmcblk1p3", 3, "mmcblk1"],
    ["nvme0n1p12", 12, "nvme0n1"],
    ["vdb1", 1, "vdb"],
  ])("partition %s (number %i) is on disk %s", (dev, n, disk) => {
    expect(lib(`sb_disk_of_part ${dev} ${n}`).stdout).toBe(`${disk}\n`);
  });

  it("scans sd, vd, mmcblk and nvme disks only", () => {
    const ok = ["sda", "sdab", "vda", "mmcblk0", "mmcblk12", "nvme0n1"];
    const no = ["loop0", "zram0", "dm-0", "mmcblk0boot0", "mmcblk0rpmb", "sr0", "nvme0"];
    for (const d of ok) expect(lib(`sb_is_disk_name ${d}`).status, d).toBe(0);
    for (const d of no) expect(lib(`sb_is_disk_name ${d}`).status, d).toBe(1);
  });
});

describe("sb_scan_partitions", () => {
  it("lists shimboot partitions of every disk in disk then partition order", () => {
    fakeDisk(sysfs, "sda");
    fakePartition(sysfs, "sda1", 1, "STATE");
    fakePartition(sysfs, "sda10", 10, "shimboot_rootfs:ten");
    fakePartition(sysfs, "sda4", 4, "shimboot_rootfs:four");
    fakePartition(sysfs, "mmcblk0p5", 5, "shimboot_rootfs:emmc");
    fakePartition(sysfs, "nvme0n1p2", 2, "shimboot_rootfs:nvme");
    fakePartition(sysfs, "vda4", 4, "shimboot_rootfs:virtio");
    expect(lines(lib("sb_scan_partitions").stdout)).toEqual([
      "mmcblk0p5|mmcblk0|emmc",
      "nvme0n1p2|nvme0n1|nvme",
      "sda4|sda|four",
      "sda10|sda|ten",
      "vda4|vda|virtio",
    ]);
  });

  it("reads labels with spaces and colons from the kernel's PARTNAME", () => {
    fakePartition(sysfs, "sdb4", 4, "shimboot_rootfs:a b:c  d");
    expect(lib("sb_scan_partitions").stdout).toBe("sdb4|sdb|a b:c  d\n");
  });

  it("falls back to cgpt when the kernel gives no PARTNAME", () => {
    fakePartition(sysfs, "sdc4", 4);
    fakeCommand(sb, "cgpt", `[ "$*" = "show -i 4 -l $SB_DEV/sdc" ] && echo 'shimboot_rootfs:from cgpt'`);
    expect(lib("sb_scan_partitions").stdout).toBe("sdc4|sdc|from cgpt\n");
  });

  it("skips a partition whose name cannot be read", () => {
    fakePartition(sysfs, "sdc4", 4);
    expect(lib("sb_scan_partitions")).toMatchObject({ stdout: "", status: 0 });
  });

  it("ignores partitions of loop and device-mapper devices", () => {
    fakePartition(sysfs, "loop0p1", 1, "shimboot_rootfs:loop");
    expect(lib("sb_scan_partitions").stdout).toBe("");
  });

  it("names an empty label after the device", () => {
    fakePartition(sysfs, "sda4", 4, "shimboot_rootfs:");
    expect(lib("sb_scan_partitions").stdout).toBe("sda4|sda|sda4\n");
  });

  it("keeps the vendor partition in the list (the bootloader sets it apart)", () => {
    fakePartition(sysfs, "sda4", 4, "shimboot_rootfs:nixos");
    fakePartition(sysfs, "sda5", 5, "shimboot_rootfs:vendor");
    expect(lines(lib("sb_scan_partitions").stdout)).toEqual(["sda4|sda|nixos", "sda5|sda|vendor"]);
  });
});

describe("sb_boot_disk", () => {
  beforeEach(() => {
    fakePartition(sysfs, "sda2", 2, "KERN-A");
    fakePartition(sysfs, "sda4", 4, "shimboot_rootfs:usb");
    fakePartition(sysfs, "mmcblk0p2", 2, "KERN-A");
  });

  it("finds the kernel partition from kern_guid with cgpt find", () => {
    fakeCommand(sb, "cgpt", `[ "$*" = "find -1 -u 1234-ABCD" ] && echo /dev/mmcblk0p2`);
    expect(lib(`sb_boot_disk 'cros_secure kern_guid=1234-ABCD console='`).stdout).toBe("mmcblk0\n");
  });

  it("matches kern_guid against PARTUUID in the uevent when there is no cgpt", () => {
    fakePartition(sysfs, "sdb2", 2, "KERN-A", ["PARTUUID=1234-abcd"]);
    expect(lib(`sb_boot_disk 'kern_guid=1234-ABCD'`, { SB_CGPT: "no-such-cgpt" }).stdout).toBe("sdb\n");
  });

  it("otherwise takes the only disk that has shimboot partitions", () => {
    expect(lib(`sb_boot_disk 'console='`, { SB_CGPT: "no-such-cgpt" }).stdout).toBe("sda\n");
  });

  it("gives up when two disks have shimboot partitions and kern_guid does not help", () => {
    fakePartition(sysfs, "sdb4", 4, "shimboot_rootfs:other");
    expect(lib(`sb_boot_disk 'kern_guid=FFFF'`, { SB_CGPT: "no-such-cgpt" })).toMatchObject({ stdout: "", status: 1 });
  });
});

describe("helpers", () => {
  it("reads a key from the kernel command line", () => {
    expect(lib(`sb_cmdline_get 'a=1 kern_guid=AB-CD b' kern_guid`).stdout).toBe("AB-CD\n");
  });

  it("does not expand globs on the kernel command line", () => {
    put(join(sb.dir, "x=1"), "");
    expect(lib(`sb_cmdline_get '* x=2' x`).stdout).toBe("2\n");
  });

  it("recognises a LUKS header", () => {
    put(join(sb.dir, "luks.img"), Buffer.concat([Buffer.from("LUKS\xba\xbe", "latin1"), Buffer.alloc(64)]));
    put(join(sb.dir, "ext4.img"), Buffer.alloc(70));
    expect(lib(`sb_is_luks luks.img`).status).toBe(0);
    expect(lib(`sb_is_luks ext4.img`).status).toBe(1);
  });

  it("reduces a label to a safe device-mapper name", () => {
    expect(lib(`sb_safe_name 'my os: v2/x'`).stdout).toBe("my_os__v2_x\n");
  });
});
