// `shimboot run IMAGE`, as a user runs it (the compiled CLI): the image's own
// kernel and command line, the image as a USB stick in snapshot mode (never
// written), the serial console on stdin/stdout, TCG when KVM does not really
// work; a stand-in kernel and initrd; the errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { $ } from "zx";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture } from "../fixtures/fixtures.js";
import { runCli } from "../helpers/cli.js";
import { kbuildKernel } from "../kernel/build.js";
import { probeGuest } from "../../scripts/run/kvm.js";
import { bootPartition, firmwareCmdline } from "../../scripts/run/boot-kernel.js";
import { TYPE_GUID } from "../../scripts/contract.js";
import type { Partition } from "../../scripts/read/gpt.js";
import { sectors } from "../../scripts/lib/units.js";
import { BUSYBOX, missingQemuTools } from "./env.js";
import { buildTestDisk, markerInit } from "./make-test-disk.js";

$.quiet = true;

const missing = missingQemuTools();
const sha256 = async (f: string) => (await $`sha256sum ${f}`).stdout.split(" ")[0];

describe("shimboot run --help", () => {
  it("says plainly that a real shim has not been tried under QEMU, and what to try", async () => {
    const r = await runCli(["run", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("no real RMA shim was available");
    expect(r.stdout).toMatch(/--append "console=ttyS0/);
    expect(r.stdout).toContain("--disk virtio");
  });
});

describe("what the firmware boots", () => {
  const part = (index: number, priority: number, tries: number, successful: number, type: string = TYPE_GUID.chromeosKernel) =>
    ({ index, label: `K${index}`, type, typeName: "", uuid: `0000000${index}-AAAA-BBBB-CCCC-DDDDDDDDDDDD`, start: sectors(64), size: sectors(100), attributes: priority | (tries << 4) | (successful << 8) }) as Partition;

  it("picks the kernel partition with the highest priority that is successful or has tries left", () => {
    expect(bootPartition([part(2, 10, 5, 1), part(4, 15, 0, 0), part(6, 12, 1, 0)])?.index).toBe(6);
    expect(bootPartition([part(2, 0, 15, 1), part(3, 15, 15, 1, TYPE_GUID.chromeosRootfs)])).toBeNull();
  });

  it("replaces every %U with the partition's unique GUID in lower case", () => {
    expect(firmwareCmdline("root=PARTUUID=%U/PARTNROFF=1 kern_guid=%U ", part(2, 1, 1, 1))).toBe("root=PARTUUID=00000002-aaaa-bbbb-cccc-dddddddddddd/PARTNROFF=1 kern_guid=00000002-aaaa-bbbb-cccc-dddddddddddd");
  });
});

describe.skipIf(missing.length > 0)("the KVM probe", () => {
  it("recognises a probe guest that ran to its end (run with TCG here)", async () => {
    const d = await mkdtemp(join(tmpdir(), "shimboot-probe-"));
    try {
      expect(await probeGuest(d, "tcg", 30_000)).toEqual({ works: true, reason: "a TCG guest ran" });
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

describe("shimboot run errors", () => {
  it("names a missing image in one line and exits 1", async () => {
    const r = await runCli(["run", "--accel", "tcg", "/nonexistent/shimboot.bin"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("shimboot: /nonexistent/shimboot.bin: no such file\n  hint: check the path");
  });

  it("refuses an arm64 image: it boots x86_64 kernels only", async () => {
    const r = await runCli(["run", "--accel", "tcg", await fixture("shim-arm64")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("holds an arm64 kernel (FIT image); shimboot run boots x86_64 kernels only");
  });

  it("refuses a --kernel that does not exist before starting anything", async () => {
    const r = await runCli(["run", "--kernel", "/nonexistent/vmlinuz", await fixture("shim-kbuild")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/nonexistent/vmlinuz: no such file (--kernel)");
  });

  it("rejects a bad --disk as a usage error", async () => {
    const r = await runCli(["run", "--disk", "scsi", await fixture("shim-kbuild")]);
    expect(r.code).toBe(2);
  });
});

describe.skipIf(missing.length > 0)(`shimboot run boots (missing: ${missing.join(", ") || "nothing"})`, () => {
  let work: string;
  let image: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "shimboot-run-"));
    image = join(work, "shimboot.bin");
    await buildTestDisk(image, { rootfs: { label: "tryme", tree: { "sbin/init": markerInit("RUN-INIT-RAN") } }, bootTimeout: 0 });
  }, 300_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("boots the image's own kernel to its rootfs and never writes to the image", async () => {
    const before = await sha256(image);
    const r = await runCli(["run", "--timeout", "150", "--memory", "512", image]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toMatch(/kernel of partition 2 \(KERN-A\), Linux 6\.1\.0-shimboot-fixture/);
    expect(r.stderr).toMatch(/command line: console= .* kern_guid=[0-9a-f-]{36}/);
    expect(r.stderr).toContain("as a USB stick (xHCI), snapshot: never written");
    expect(r.stdout).toContain("factory shim: kernel partition /dev/sda2, next stage /dev/sda3");
    expect(r.stdout).toContain("RUN-INIT-RAN");
    // the bootloader appended its log to p1: in the snapshot only
    expect(await sha256(image)).toBe(before);
  }, 200_000);

  it("uses TCG when KVM does not really work, and says why", async () => {
    const r = await runCli(["run", "--timeout", "1", "--memory", "256", image]);
    expect(r.stderr).toMatch(/shimboot run: (KVM \(a KVM guest ran\)|TCG \((no \/dev\/kvm|\/dev\/kvm is not usable|a KVM guest did not finish|KVM refused)[^)]*\))/);
    expect(r.code).toBe(124);
    expect(r.stderr).toContain("stopped after 1 s (--timeout)");
  }, 60_000);

  it("boots a stand-in kernel and initrd with words appended to the command line", async () => {
    const k = await kbuildKernel();
    const tree = join(work, "initrd");
    await mkdir(join(tree, "bin"), { recursive: true });
    await $`cp ${BUSYBOX} ${join(tree, "bin/busybox")}`;
    for (const a of ["sh", "echo", "cat", "poweroff", "mount", "mkdir"]) await symlink("busybox", join(tree, "bin", a));
    await writeFile(join(tree, "stand-in"), '#!/bin/sh\nmkdir -p /proc /dev\nmount -t proc proc /proc\nmount -t devtmpfs dev /dev\necho "STAND-IN: $(cat /proc/cmdline)" >/dev/ttyS0\npoweroff -f\n');
    await chmod(join(tree, "stand-in"), 0o755);
    const initrd = join(work, "initrd.cpio");
    await $({ cwd: tree })`sh -c ${"find . | cpio --quiet -o -H newc -R 0:0"} > ${initrd}`;
    const r = await runCli(["run", "--accel", "tcg", "--timeout", "120", "--memory", "256", "--kernel", k.bzImage["gzip-zstd"], "--initrd", initrd, "--append", "rdinit=/stand-in", image]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toContain(`stand-in kernel ${k.bzImage["gzip-zstd"]}, initrd ${initrd}`);
    expect(r.stdout).toMatch(/STAND-IN: console= .* kern_guid=[0-9a-f-]{36} rdinit=\/stand-in/);
  }, 150_000);
});
