// Boots a shimboot disk image in QEMU (TCG) the way a Chromebook would, as far
// as the bootloader can tell: the test kernel stands in for the shim's KERN-A,
// the stage-0 initramfs for its built-in factory initramfs (which finds the
// kernel partition from kern_guid= and starts partition 3), and the serial
// port is the console the test reads and types into.
import { $ } from "zx";
import { spawn } from "node:child_process";
import { buildStage0 } from "./stage0.js";
import { findTestKernel } from "./env.js";

$.quiet = true;

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
  /** kern_guid= to pass; default: the unique GUID of the disk's best ChromeOS kernel partition. */
  kernGuid?: string;
  /** Extra kernel command-line words. */
  append?: string;
  memoryMiB?: number;
  /** Kernel modules stage 0 loads besides STAGE0_MODULES (drivers the shim's kernel would have built in). */
  extraModules?: string[];
  /** Called with every chunk of serial output (debugging). */
  onOutput?: (chunk: string) => void;
}

export interface BootResult {
  /** Everything the guest wrote to the serial port (CR removed). */
  serial: string;
  timedOut: boolean;
  exitCode: number | null;
  durationMs: number;
}

/** The unique GUID of the ChromeOS kernel partition the firmware would boot (highest priority). */
export async function kernelPartitionGuid(image: string): Promise<string> {
  const show = (await $`cgpt show -q ${image}`).stdout;
  let best: { prio: number; index: number } | undefined;
  for (const line of show.split("\n")) {
    const m = /^\s*\d+\s+\d+\s+(\d+)\s+/.exec(line);
    if (!m) continue;
    const index = Number(m[1]);
    const type = (await $`cgpt show -i ${index} -t ${image}`).stdout.trim().toUpperCase();
    if (type !== "FE3A2A5D-4F32-41A7-B725-ACCC3285A309") continue;
    const prio = Number((await $`cgpt show -i ${index} -P ${image}`).stdout.trim());
    if (!best || prio > best.prio) best = { prio, index };
  }
  if (!best) throw new Error(`${image} has no ChromeOS kernel partition`);
  return (await $`cgpt show -i ${best.index} -u ${image}`).stdout.trim();
}

/** Boots `image` (written to in place: use a throwaway copy) and collects the serial output. */
export async function bootDisk(image: string, opts: BootOptions): Promise<BootResult> {
  const kernel = findTestKernel();
  if (!kernel) throw new Error("no test kernel");
  const initrd = await buildStage0(opts.extraModules);
  const kernGuid = opts.kernGuid ?? (await kernelPartitionGuid(image));
  const append = [
    "console=ttyS0",
    "panic=-1", // with -no-reboot a panic ends the run at once
    "loglevel=4",
    `kern_guid=${kernGuid}`,
    opts.append ?? "",
  ].join(" ").trim();
  const args = [
    "-machine", "q35",
    "-accel", "tcg",
    "-m", String(opts.memoryMiB ?? 512),
    "-smp", "1",
    // -nographic without the monitor multiplexer: the serial port is stdio,
    // typed bytes reach the guest unchanged
    "-display", "none", "-vga", "none", "-monitor", "none", "-serial", "stdio",
    "-no-reboot",
    "-kernel", kernel.image,
    "-initrd", initrd,
    "-append", append,
    "-drive", `file=${image},format=raw,if=virtio`,
  ];
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
