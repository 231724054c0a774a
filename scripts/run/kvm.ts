// Whether KVM really works: /dev/kvm can exist and still hang a guest (it
// does on the machine this project is developed on), so a guest is run.
// The probe guest is one boot sector that writes to QEMU's isa-debug-exit
// port: QEMU then exits with status (1 << 1) | 1 = 3 at once.
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { trackChild } from "../lib/cleanup.js";

export type Accel = "kvm" | "tcg";

export interface KvmProbe {
  works: boolean;
  /** why not, for the user */
  reason: string;
}

/** mov al, 1; out 0xf4, al; hlt; jmp $-1 … 0x55aa */
function probeSector(): Buffer {
  const s = Buffer.alloc(512);
  Buffer.from([0xb0, 0x01, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]).copy(s);
  s.writeUInt16LE(0xaa55, 510);
  return s;
}

const EXIT_BY_PROBE = 3;

/** Boots the probe sector with -accel kvm; `timeoutMs` bounds a hang. */
export async function probeKvm(work: string, timeoutMs = 5_000): Promise<KvmProbe> {
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { works: false, reason: code === "ENOENT" ? "no /dev/kvm" : `/dev/kvm is not usable (${code})` };
  }
  return probeGuest(work, "kvm", timeoutMs);
}

/** Runs the probe guest with `accel` (exported so that a test can run it with TCG). */
export async function probeGuest(work: string, accel: Accel, timeoutMs: number): Promise<KvmProbe> {
  const disk = join(work, "kvm-probe.img");
  await writeFile(disk, probeSector(), { mode: 0o600 });
  const args = ["-accel", accel, "-machine", "pc", "-m", "16", "-display", "none", "-vga", "none", "-monitor", "none", "-serial", "none", "-no-reboot",
    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-drive", `file=${disk},format=raw,if=ide`];
  return new Promise((resolve) => {
    const child = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "ignore", "pipe"] });
    trackChild(child);
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve({ works: false, reason: `a ${accel.toUpperCase()} guest did not finish within ${timeoutMs / 1000} s (/dev/kvm exists but hangs)` });
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ works: false, reason: `qemu-system-x86_64 could not start: ${e.message}` });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === EXIT_BY_PROBE) resolve({ works: true, reason: `a ${accel.toUpperCase()} guest ran` });
      else resolve({ works: false, reason: `${accel.toUpperCase()} refused: ${stderr.trim().split("\n")[0] || `QEMU exited with ${code}`}` });
    });
  });
}
