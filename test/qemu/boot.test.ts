// The whole chain booted for real, as a Chromebook boots a USB stick: every
// disk is made by `shimboot build` from the fixture shim with a real kernel
// (Linux 6.1, test/kernel/), QEMU (TCG) boots partition 2 of the image — its
// kernel, its signed command line with %U replaced — with no -initrd; the
// kernel's built-in initramfs hands over to partition 3 (our bootloader),
// which starts the rootfs. The serial port is the console.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { $ } from "zx";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingQemuTools } from "./env.js";
import { KBUILD_RELEASE } from "../kernel/build.js";
import { hostPath, missingHostPaths } from "../helpers/host-paths.js";
import { buildTestDisk, markerInit, nixosTree, type BuiltDiskSpec } from "./make-test-disk.js";
import { bootDisk, type BootOptions, type BootResult } from "./run-qemu.js";

const missing = missingQemuTools();
const BOOT_TIMEOUT_MS = 90_000;
const MENU_HEADER = "======================== shimboot ========================";

let work: string;
let diskCount = 0;

async function boot(spec: BuiltDiskSpec, opts: Partial<BootOptions> = {}): Promise<BootResult & { image: string }> {
  const image = join(work, `disk${++diskCount}.img`);
  await buildTestDisk(image, spec);
  const result = await bootDisk(image, { timeoutMs: BOOT_TIMEOUT_MS, ...opts });
  return { ...result, image };
}

/** The result must be a clean power-off after the factory hand-off, not a timeout or a failure. */
function expectPoweredOff(r: BootResult) {
  expect(r.timedOut, `QEMU timed out; serial:\n${r.serial}`).toBe(false);
  expect(r.serial).not.toContain("FACTORY-SHIM-FAILED");
  expect(r.serial).toContain("factory shim: switch_root to /sbin/init");
}

/** Loads a harvested module with busybox modprobe and prints what happened. */
const MODPROBE_LOOP = [
  'say "release: $(uname -r)"',
  'if modprobe loop; then say "modprobe loop: ok"; else say "modprobe loop: failed ($?)"; fi',
  'grep -q "^loop " /proc/modules && say "loop is loaded"',
].join("\n");

describe.skipIf(missing.length > 0)(`QEMU boot of partition 2 (missing: ${missing.join(", ") || "nothing"})`, () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "shimboot-qemu-"));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe("a plain rootfs with SHIMBOOT_TIMEOUT=1, on a USB stick", () => {
    let r: BootResult & { image: string };
    beforeAll(async () => {
      r = await boot({ rootfs: { label: "plain", tree: { "sbin/init": markerInit("PLAIN-INIT-RAN") } }, bootTimeout: 1 });
    }, 180_000);

    it("boots p2's kernel with its signed command line, kern_guid= the unique GUID of p2", async () => {
      const guid = (await $`cgpt show -i 2 -u ${r.image}`.quiet()).stdout.trim().toLowerCase();
      expect(r.cmdline).toBe(`console= loglevel=7 init=/sbin/init cros_recovery cros_debug kern_guid=${guid}`);
      expect(r.serial).toContain(`factory shim: started on ${KBUILD_RELEASE}`);
    });

    it("hands over from the kernel's initramfs to partition 3 of the USB disk", () => {
      expect(r.serial).toContain("factory shim: kernel partition /dev/sda2, next stage /dev/sda3");
      expect(r.serial).toContain(MENU_HEADER);
    });

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

  it("lists every rootfs partition of a virtio disk, labels with spaces and colons included", async () => {
    const r = await boot(
      {
        rootfs: { label: "alpha", tree: { "sbin/init": markerInit("ALPHA-INIT-RAN") } },
        extra: [{ label: "beta two:x", tree: { "sbin/init": markerInit("BETA-INIT-RAN") } }],
        bootTimeout: 1,
      },
      { disk: "virtio" },
    );
    expectPoweredOff(r);
    expect(r.serial).toContain("factory shim: kernel partition /dev/vda2, next stage /dev/vda3");
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

  it("loads a harvested module after boot from the vendor partition, which shows modules and firmware", async () => {
    const r = await boot({
      rootfs: {
        label: "withdrivers",
        tree: {
          "sbin/init": markerInit("VENDOR-CHECK-DONE", `say "modules: $(ls /lib/modules)"; say "firmware: $(ls /lib/firmware)"\n${MODPROBE_LOOP}`),
        },
      },
      drivers: "vendor",
      bootTimeout: 0,
    });
    expectPoweredOff(r);
    expect(r.serial).not.toMatch(/ \d\) vendor /);
    expect(r.serial).toContain(`modules: ${KBUILD_RELEASE}`);
    expect(r.serial).toMatch(/firmware: [\s\S]*regulatory\.db/);
    expect(r.serial).toContain(`release: ${KBUILD_RELEASE}`);
    expect(r.serial).toContain("modprobe loop: ok");
    expect(r.serial).toContain("loop is loaded");
    expect(r.serial).toContain("VENDOR-CHECK-DONE");
  });

  describe.skipIf(missingHostPaths("hostModules").length > 0)("modules injected into the rootfs", () => {
    let r: BootResult;
    let name: string;
    beforeAll(async () => {
      // a real module of another kernel release (the host's), which the shim's kernel must refuse
      const foreign = await foreignModule(hostPath("hostModules"));
      const file = `/foreign/${foreign.path.split("/").at(-1)}`;
      name = foreign.name;
      r = await boot({
        rootfs: {
          label: "injected",
          tree: {
            [file.slice(1)]: { content: await readFile(foreign.path) },
            "sbin/init": markerInit(
              "INJECT-CHECK-DONE",
              `${MODPROBE_LOOP}\nif insmod ${file} 2>/dev/null; then say "foreign module: loaded"; else say "foreign module: refused"; fi\ndmesg | grep "${name}: " | while read -r l; do say "kernel: $l"; done`,
            ),
          },
        },
        drivers: "inject",
        bootTimeout: 0,
      });
    }, 180_000);

    it("loads a harvested module with modprobe", () => {
      expectPoweredOff(r);
      expect(r.serial).toContain("modprobe loop: ok");
      expect(r.serial).toContain("loop is loaded");
    });

    it("refuses a module of another kernel release", () => {
      expect(r.serial).toContain("foreign module: refused");
      expect(r.serial).toMatch(new RegExp(`kernel: .*${name}: version magic '\\S+ [^']*' should be '${KBUILD_RELEASE.replaceAll(".", "\\.")} `));
      expect(r.serial).toContain("INJECT-CHECK-DONE");
    });
  });
});

/**
 * A module of the host's kernel that depends on no other (crc7 when there is
 * one): a real module of another release. Returns its path and name.
 */
async function foreignModule(modulesDir: string): Promise<{ path: string; name: string }> {
  const dep = await readFile(join(modulesDir, "modules.dep"), "utf8");
  const free = dep.split("\n").filter((l) => /^\S+\.ko(\.\w+)?:$/.test(l)).map((l) => l.slice(0, -1));
  const rel = free.find((p) => /\/crc7\.ko/.test(p)) ?? free.sort()[0];
  if (!rel) throw new Error(`${modulesDir}/modules.dep lists no module without dependencies`);
  return { path: join(modulesDir, rel), name: rel.split("/").at(-1)!.replace(/\.ko(\.\w+)?$/, "") };
}
