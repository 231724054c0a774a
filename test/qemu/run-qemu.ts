// Boots a shimboot disk image in QEMU (TCG) as a Chromebook boots it from
// USB: the kernel of its boot partition (p2) with the signed command line, %U
// replaced by p2's unique GUID, and no -initrd — what `shimboot run` does
// (scripts/run/), with the serial port piped to the test, which reads it and
// types into it.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readBootKernel } from "../../scripts/run/boot-kernel.js";
import { qemuArgs, type DiskBus } from "../../scripts/run/qemu-args.js";

/** What the bootloader prints when it waits for a menu choice. */
export const MENU_PROMPT = /shimboot> $/m;

/** A line to type: at the next prompt (a string), or once `expect` shows up. */
export type InputStep = string | { expect: string | RegExp; send: string };

export interface BootOptions {
  /** Kill QEMU after this long (the result then has timedOut: true). */
  timeoutMs: number;
  /**
   * Lines typed into the serial console, in order. Each waits for its
   * `expect` (default: the menu prompt) to appear in the output that followed
   * the previous step, then is sent with a carriage return.
   */
  input?: InputStep[];
  /** How the disk is attached (default: a USB stick on xHCI). */
  disk?: DiskBus;
  memoryMiB?: number;
  /** Called with every chunk of serial output (debugging). */
  onOutput?: (chunk: string) => void;
}

export interface BootResult {
  /** Everything the guest wrote to the serial port (CR removed). */
  serial: string;
  timedOut: boolean;
  exitCode: number | null;
  durationMs: number;
  /** the command line the kernel got */
  cmdline: string;
}

/** Boots `image` (written to in place: use a throwaway copy) and collects the serial output. */
export async function bootDisk(image: string, opts: BootOptions): Promise<BootResult> {
  const work = await mkdtemp(join(tmpdir(), "shimboot-boot-"));
  try {
    const boot = await readBootKernel(image, work);
    const args = qemuArgs({ image, kernel: boot.vmlinuz, cmdline: boot.cmdline, accel: "tcg", disk: opts.disk ?? "usb", memoryMiB: opts.memoryMiB ?? 512, cpus: 1, snapshot: false, monitor: false });
    return { ...(await runGuest(args, opts)), cmdline: boot.cmdline };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function runGuest(args: string[], opts: BootOptions): Promise<Omit<BootResult, "cmdline">> {
  const started = Date.now();
  const child = spawn("qemu-system-x86_64", args, { stdio: ["pipe", "pipe", "pipe"] });
  let serial = "";
  let stderr = "";
  let sinceLast = 0; // offset in `serial` where the next step starts looking
  const steps = [...(opts.input ?? [])];
  let timedOut = false;

  const pump = () => {
    const step = steps[0];
    if (step === undefined) return;
    const expect = typeof step === "string" ? MENU_PROMPT : step.expect;
    const send = typeof step === "string" ? step : step.send;
    const tail = serial.slice(sinceLast);
    const idx = typeof expect === "string" ? tail.indexOf(expect) : tail.search(expect);
    if (idx < 0) return;
    const matched = typeof expect === "string" ? expect.length : (tail.slice(idx).match(expect)?.[0].length ?? 0);
    steps.shift();
    sinceLast += idx + matched;
    child.stdin.write(`${send}\r`);
    pump();
  };

  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    const text = chunk.replace(/\r/g, "");
    serial += text;
    opts.onOutput?.(text);
    pump();
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (c: string) => (stderr += c));
  child.stdin.on("error", () => undefined);

  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, opts.timeoutMs);

  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
  clearTimeout(timer);
  if (stderr.trim() && !timedOut && exitCode !== 0) serial += `\n[qemu stderr] ${stderr}`;
  return { serial, timedOut, exitCode, durationMs: Date.now() - started };
}
