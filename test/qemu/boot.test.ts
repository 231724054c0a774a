// The bootloader booted for real: Debian's kernel in QEMU (TCG) stands in for
// the shim's, a stage-0 initramfs for the factory shim's (kern_guid ->
// partition 3 -> tmpfs -> switch_root), and every disk is made by
// `shimboot build` from the fixture shim (real static busybox and cgpt in its
// initramfs). The serial port is the console.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { $ } from "zx";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingQemuTools } from "./env.js";
import { FIXTURE_KERNEL_RELEASE } from "../fixtures/fixtures.js";
import { buildTestDisk, markerInit, nixosTree, type BuiltDiskSpec } from "./make-test-disk.js";
import { bootDisk, type BootOptions, type BootResult } from "./run-qemu.js";
import { buildStage0 } from "./stage0.js";

const missing = missingQemuTools();
const BOOT_TIMEOUT_MS = 60_000;
const MENU_HEADER = "======================== shimboot ========================";

let work: string;
let diskCount = 0;

async function boot(spec: BuiltDiskSpec, opts: Partial<BootOptions> = {}): Promise<BootResult & { image: string }> {
  const image = join(work, `disk${++diskCount}.img`);
  await buildTestDisk(image, spec);
  const result = await bootDisk(image, { timeoutMs: BOOT_TIMEOUT_MS, ...opts });
  return { ...result, image };
}

/** The result must be a clean power-off, not a timeout or a panic. */
function expectPoweredOff(r: BootResult) {
  expect(r.timedOut, `QEMU timed out; serial:\n${r.serial}`).toBe(false);
  expect(r.serial).not.toContain("Kernel panic");
  expect(r.serial).not.toContain("STAGE0-FAILED");
}

describe.skipIf(missing.length > 0)(`QEMU boot (missing: ${missing.join(", ") || "nothing"})`, () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "shimboot-qemu-"));
    await buildStage0();
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe("a plain rootfs with SHIMBOOT_TIMEOUT=1", () => {
    let r: BootResult & { image: string };
    beforeAll(async () => {
      r = await boot({ rootfs: { label: "plain", tree: { "sbin/init": markerInit("PLAIN-INIT-RAN") } }, bootTimeout: 1 });
    }, 120_000);

    it("boots by the default timeout without any input", () => {
      expectPoweredOff(r);
      expect(r.serial).toContain("booting in 1 s");
      expect(r.serial).toContain("PLAIN-INIT-RAN");
    });

    it("appends its log to shimboot/bootloader.log on the STATE partition", async () => {
      // p1 starts at 1 MiB (plan/layout.ts)
      const log = (await $`debugfs -R ${"cat /shimboot/bootloader.log"} ${`${r.image}?offset=1048576`}`.quiet()).stdout;
      expect(log).toContain("Starting /sbin/init on plain...");
    });
  });

  it("boots the NixOS generation typed at the menu", async () => {
    const r = await boot(
      {
        rootfs: {
          label: "nixos",
          tree: nixosTree(
            [
              { n: 1, version: "24.05.0001", init: markerInit("GENERATION-1-INIT-RAN"), mtime: 1_700_000_000 },
              { n: 2, version: "24.11.0002", init: markerInit("GENERATION-2-INIT-RAN"), mtime: 1_710_000_000 },
            ],
            2,
          ),
        },
        bootTimeout: 30,
      },
      { input: ["1.1"] },
    );
    expectPoweredOff(r);
    expect(r.serial).toMatch(/1\.2\) generation 2 +2024-03-09 16:00 +NixOS 24\.11\.0002 +\(current\)\n\s+1\.1\) generation 1 +2023-11-14 22:13 +NixOS 24\.05\.0001/);
    expect(r.serial).toContain("GENERATION-1-INIT-RAN");
    expect(r.serial).not.toContain("GENERATION-2-INIT-RAN");
  });

  it("lists every rootfs partition, labels with spaces and colons included", async () => {
    const r = await boot({
      rootfs: { label: "alpha", tree: { "sbin/init": markerInit("ALPHA-INIT-RAN") } },
      extra: [{ label: "beta two:x", tree: { "sbin/init": markerInit("BETA-INIT-RAN") } }],
      bootTimeout: 1,
    });
    expectPoweredOff(r);
    expect(r.serial).toContain("ALPHA-INIT-RAN");
    expect(r.serial).toMatch(/ 1\) alpha +\[\/dev\/vda4\]/);
    expect(r.serial).toMatch(/ 2\) beta two:x +\[\/dev\/vda5\]/);
  });

  it("reports a rootfs without an init and returns to the menu", async () => {
    // `shimboot build` refuses a rootfs without an init, so the broken one is
    // appended to the built image, as a user adding a partition by hand would
    const r = await boot(
      {
        rootfs: { label: "good", tree: { "sbin/init": markerInit("GOOD-INIT-RAN") } },
        extra: [{ label: "broken", tree: {} }],
        bootTimeout: 30,
      },
      { input: ["2", { expect: /Error: cannot boot broken[^\n]*\n[\s\S]*shimboot> $/, send: "1" }] },
    );
    expectPoweredOff(r);
    expect(r.serial).toContain("Error: cannot boot broken: init /sbin/init: no such file");
    expect(r.serial.split(MENU_HEADER).length - 1).toBe(2);
    expect(r.serial).toContain("GOOD-INIT-RAN");
  });

  it("shows the vendor partition's modules and firmware to the booted system", async () => {
    const r = await boot({
      rootfs: {
        label: "withdrivers",
        tree: {
          "sbin/init": markerInit("VENDOR-CHECK-DONE", "say \"modules: $(ls /lib/modules)\"; say \"firmware: $(ls /lib/firmware)\""),
        },
      },
      drivers: "vendor",
      bootTimeout: 0,
    });
    expectPoweredOff(r);
    expect(r.serial).not.toMatch(/ \d\) vendor /);
    expect(r.serial).toContain(`modules: ${FIXTURE_KERNEL_RELEASE}`);
    expect(r.serial).toMatch(/firmware: [\s\S]*regulatory\.db/);
    expect(r.serial).toContain("VENDOR-CHECK-DONE");
  });
});
