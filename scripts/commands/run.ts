// `shimboot run IMAGE`: boots an image in QEMU as a Chromebook would boot it
// from USB, to try it before flashing. The kernel and command line come from
// the image's boot partition (p2); the image is a USB stick in snapshot mode
// (never written); the serial port is the terminal.
import type { Command } from "commander";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import * as z from "zod";
import { trackChild } from "../lib/cleanup.js";
import { UserError, usageError } from "../lib/errors.js";
import { requireTool } from "../lib/exec.js";
import { makeWorkDir } from "../lib/workdir.js";
import { readBootKernel } from "../run/boot-kernel.js";
import { probeKvm, type Accel } from "../run/kvm.js";
import { qemuArgs, type DiskBus } from "../run/qemu-args.js";

const Options = z.object({
  kernel: z.string().min(1).optional(),
  initrd: z.string().min(1).optional(),
  append: z.string().optional(),
  timeout: z.coerce.number().int().positive().optional(),
  accel: z.enum(["auto", "kvm", "tcg"]),
  disk: z.enum(["usb", "virtio"]),
  memory: z.coerce.number().int().min(128).max(65536),
});

export interface RunOptions {
  image: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  timeoutSeconds?: number;
  accel: Accel | "auto";
  disk: DiskBus;
  memoryMiB: number;
}

/** Exit status when --timeout stopped the guest (as timeout(1)). */
export const TIMEOUT_EXIT = 124;

const HELP = `
The kernel and its command line are those of the image's boot partition (p2
of a shimboot image): the kernel from \`futility vbutil_kernel --get-vmlinuz\`,
the signed command line with %U replaced by the partition's unique GUID, as
the firmware does. The image is attached as a USB stick on an xHCI controller
in snapshot mode: nothing is ever written to it. The serial port is this
terminal: Ctrl-A X quits, Ctrl-A C opens QEMU's monitor. KVM is used when a
probe guest really runs on /dev/kvm, TCG (slower) otherwise.

Not tried here: no real RMA shim was available to this project, so a real
shim's kernel and its factory initramfs have never been booted under QEMU by
its tests (they boot a fixture shim: Linux 6.1 with the factory hand-off).
The shim's command line has an empty console=, so its kernel prints nothing
on the serial port; the bootloader writes its menu there itself. When a real
shim's kernel shows nothing or stops:
  --append "console=ttyS0 earlyprintk=serial,ttyS0"   see the kernel's messages
  --disk virtio          if its kernel lacks xHCI or usb-storage support
  --accel tcg            if KVM misbehaves; --memory 3072 if the copy to RAM fails
  --kernel K --initrd I  a stand-in kernel (e.g. your distribution's) to try the
                         bootloader and root file system; a stand-in cannot run
                         the shim's own factory hand-off, which is built into its kernel
and finally: flash it (shimboot flash) and boot the Chromebook from it.

Exit status: QEMU's (0 when the guest powered off or rebooted), ${TIMEOUT_EXIT} after --timeout,
1 bad input, 2 usage error.

Examples:
  shimboot run shimboot.bin
  shimboot run --timeout 120 --append console=ttyS0 shimboot.bin
  shimboot run --kernel /boot/vmlinuz-6.1.0-57-amd64 --initrd my-initrd.img shimboot.bin`;

export function registerRun(program: Command): Command {
  return program
    .command("run")
    .description("Boot an image in QEMU as a Chromebook boots it from USB (its own kernel, never writing to it), to try it before flashing")
    .argument("<image>", "a shimboot image (or an RMA shim)")
    .option("--kernel <file>", "boot this kernel instead of the image's (a stand-in)")
    .option("--initrd <file>", "an initramfs for the kernel (with the image's kernel: unpacked over its built-in one)")
    .option("--append <args>", "words added to the kernel command line, e.g. console=ttyS0")
    .option("--timeout <seconds>", "stop the guest after this many seconds")
    .option("--accel <auto|kvm|tcg>", "auto: KVM when a probe guest runs on it, else TCG", "auto")
    .option("--disk <usb|virtio>", "how the image is attached", "usb")
    .option("--memory <MiB>", "guest memory (the shim copies partition 3 into RAM)", "2048")
    .addHelpText("after", HELP)
    .action(async (image: unknown, raw: unknown) => {
      const o = Options.parse(raw);
      process.exitCode = await runImage({
        image: z.string().min(1).parse(image),
        kernel: o.kernel,
        initrd: o.initrd,
        append: o.append,
        timeoutSeconds: o.timeout,
        accel: o.accel,
        disk: o.disk,
        memoryMiB: o.memory,
      });
    });
}

function requireFile(path: string | undefined, option: string) {
  if (path !== undefined && !existsSync(path)) throw new UserError(path, `no such file (${option})`, "check the path");
}

async function chooseAccel(wanted: RunOptions["accel"], work: string): Promise<{ accel: Accel; why: string }> {
  if (wanted === "tcg") return { accel: "tcg", why: "--accel tcg" };
  const probe = await probeKvm(work);
  if (probe.works) return { accel: "kvm", why: probe.reason };
  if (wanted === "kvm") throw usageError(`--accel kvm: ${probe.reason}`, "use --accel tcg or auto");
  return { accel: "tcg", why: probe.reason };
}

/** Boots the image; resolves to the exit status. */
export async function runImage(o: RunOptions): Promise<number> {
  requireFile(o.kernel, "--kernel");
  requireFile(o.initrd, "--initrd");
  await requireTool("qemu-system-x86_64");
  const work = await makeWorkDir("shimboot-run-");
  try {
    const boot = await readBootKernel(o.image, work.path);
    const { accel, why } = await chooseAccel(o.accel, work.path);
    const cmdline = [boot.cmdline, o.append ?? ""].join(" ").trim();
    const kernel = o.kernel ?? boot.vmlinuz;
    const say = (s: string) => process.stderr.write(`shimboot run: ${s}\n`);
    say(`${o.kernel ? `stand-in kernel ${o.kernel}` : `kernel of partition ${boot.partition.index} (${boot.partition.label})${boot.release ? `, Linux ${boot.release}` : ""}`}${o.initrd ? `, initrd ${o.initrd}` : ""}`);
    say(`command line: ${cmdline}`);
    say(`${accel.toUpperCase()} (${why}); ${o.image} as a ${o.disk === "usb" ? "USB stick (xHCI)" : "virtio disk"}, snapshot: never written`);
    say(process.stdin.isTTY ? "Ctrl-A X quits" : "serial console on stdin/stdout");
    const args = qemuArgs({ image: o.image, kernel, initrd: o.initrd, cmdline, accel, disk: o.disk, memoryMiB: o.memoryMiB, cpus: 2, snapshot: true, monitor: true });
    return await runQemu(args, o.timeoutSeconds, say);
  } finally {
    await work.dispose();
  }
}

function runQemu(args: string[], timeoutSeconds: number | undefined, say: (s: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("qemu-system-x86_64", args, { stdio: "inherit" });
    trackChild(child);
    let timedOut = false;
    const timer = timeoutSeconds
      ? setTimeout(() => {
          timedOut = true;
          child.kill("SIGTERM");
        }, timeoutSeconds * 1000)
      : undefined;
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new UserError("qemu-system-x86_64", `could not start: ${e.message}`, "install qemu-system-x86"));
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        say(`stopped after ${timeoutSeconds} s (--timeout)`);
        resolve(TIMEOUT_EXIT);
      } else resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}
