// The QEMU command line of `shimboot run` (and of the QEMU boot tests, which
// use the same one): a q35 PC with the image as a USB stick on xHCI — how a
// shim meets a USB drive — or as a virtio disk, the kernel and command line
// the firmware would boot, the serial port on the terminal.
import type { Accel } from "./kvm.js";

export type DiskBus = "usb" | "virtio";

export interface QemuMachine {
  image: string;
  kernel: string;
  initrd?: string;
  cmdline: string;
  accel: Accel;
  disk: DiskBus;
  memoryMiB: number;
  cpus: number;
  /** discard every write to the image (QEMU keeps them in a temporary overlay) */
  snapshot: boolean;
  /**
   * the serial port and QEMU's monitor share stdio (Ctrl-A X quits, Ctrl-A C
   * is the monitor, Ctrl-C goes to the guest); false: the serial port alone,
   * bytes pass unchanged (tests)
   */
  monitor: boolean;
}

function diskArgs(m: QemuMachine): string[] {
  const drive = `file=${m.image.replaceAll(",", ",,")},format=raw${m.snapshot ? ",snapshot=on" : ""}`;
  if (m.disk === "virtio") return ["-drive", `${drive},if=virtio`];
  return ["-device", "qemu-xhci,id=xhci", "-drive", `${drive},if=none,id=stick`, "-device", "usb-storage,bus=xhci.0,drive=stick,removable=on"];
}

export function qemuArgs(m: QemuMachine): string[] {
  return [
    "-machine", "q35",
    "-accel", m.accel,
    ...(m.accel === "kvm" ? ["-cpu", "host"] : []),
    "-m", String(m.memoryMiB),
    "-smp", String(m.cpus),
    "-display", "none", "-vga", "none",
    ...(m.monitor ? ["-serial", "mon:stdio"] : ["-monitor", "none", "-serial", "stdio"]),
    "-no-reboot",
    "-kernel", m.kernel,
    ...(m.initrd ? ["-initrd", m.initrd] : []),
    "-append", m.cmdline,
    ...diskArgs(m),
  ];
}
