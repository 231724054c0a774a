// The bootloader's LUKS path booted for real: a rootfs partition that is a
// LUKS2 container (made on the host, appended to a disk made by `shimboot
// build`), the host's cryptsetup with its libraries in partition 3 and the
// fixture kernel's dm-crypt modules loaded before it runs, and the
// passphrase typed at the bootloader's prompt over the serial console of the
// booted partition 2.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingQemuTools } from "./env.js";
import { buildTestDisk, installBusybox, markerInit, writeTree } from "./make-test-disk.js";
import { bootDisk } from "./run-qemu.js";
import { KBUILD_RELEASE, kbuildKernel } from "../kernel/build.js";
import { cryptsetupBundle, hostCryptsetup, makeLuksImage } from "./luks.js";

const cryptsetup = hostCryptsetup();
const missing = [...missingQemuTools(), ...(cryptsetup ? [] : ["cryptsetup (cryptsetup-bin)"])];
const PASSPHRASE = "correct horse 42";
const WRONG = "not-the-passphrase";

describe.skipIf(missing.length > 0)(`QEMU boot of a LUKS2 root (missing: ${missing.join(", ") || "nothing"})`, () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "shimboot-luks-"));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("rejects a wrong passphrase, then unlocks with the right one and boots its init", async () => {
    const tree = join(work, "secret-tree");
    await installBusybox(tree, ["sh", "echo", "grep", "sync", "poweroff"]);
    await writeTree(tree, { "sbin/init": markerInit("LUKS-INIT-RAN", 'say "root: $(grep " / " /proc/mounts)"'), "dev": { dir: true }, "proc": { dir: true }, "sys": { dir: true } });
    const luks = join(work, "secret.luks");
    await makeLuksImage(luks, tree, PASSPHRASE);
    const extra = join(work, "bootloader-extra");
    await cryptsetupBundle(extra, cryptsetup!, (await kbuildKernel()).modulesRoot, KBUILD_RELEASE);

    const image = join(work, "disk.img");
    await buildTestDisk(image, {
      rootfs: { label: "plain", tree: { "sbin/init": markerInit("PLAIN-INIT-RAN") } },
      extra: [{ label: "secret", image: luks }],
      bootTimeout: 30,
      bootloaderExtra: extra,
    });
    const prompt = (n: number) => new RegExp(`Passphrase for secret \\(sda5\\), attempt ${n} of 3 \\(empty line to cancel\\): $`);
    const r = await bootDisk(image, {
      timeoutMs: 90_000,
      input: ["2", { expect: prompt(1), send: WRONG }, { expect: prompt(2), send: PASSPHRASE }],
    });

    expect(r.timedOut, `QEMU timed out; serial:\n${r.serial}`).toBe(false);
    expect(r.serial).not.toContain("FACTORY-SHIM-FAILED");
    expect(r.serial).toMatch(/ 2\) secret +\[\/dev\/sda5\] +encrypted \(LUKS\)/);
    expect(r.serial).toMatch(/Could not unlock secret:\n +No key available with this passphrase\./);
    expect(r.serial).toContain("Unlocked secret.");
    expect(r.serial).toMatch(/root: \/dev\/mapper\/shimboot-secret \/ ext4 /);
    expect(r.serial).toContain("LUKS-INIT-RAN");
    expect(r.serial).not.toContain("PLAIN-INIT-RAN");
    expect(r.serial).not.toContain("attempt 3 of 3");
    // echo is off while the passphrase is typed
    expect(r.serial).not.toContain(PASSPHRASE);
    expect(r.serial).not.toContain(WRONG);
  }, 180_000);
});
