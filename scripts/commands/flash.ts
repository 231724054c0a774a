// `shimboot flash IMAGE DEVICE`: registered by cli.ts with registerFlash(program).
import type { Command } from "commander";
import * as z from "zod";
import { flash, formatFlash } from "../flash/flash.js";

const Options = z.object({
  yes: z.boolean().optional(),
  confirmStdin: z.boolean().optional(),
  verify: z.boolean(),
  shim: z.string().min(1).optional(),
  readback: z.boolean(),
  forceNonRemovable: z.boolean().optional(),
  allowFile: z.boolean().optional(),
  json: z.boolean().optional(),
});

export function registerFlash(program: Command): Command {
  return program
    .command("flash")
    .description("Write a verified shimboot image to a whole USB drive, read it back and move the backup GPT to the drive's end (needs root for a real drive)")
    .argument("<image>", "a shimboot disk image (from `shimboot build`)")
    .argument("<device>", "the USB drive's whole-disk device, e.g. /dev/sdb (everything on it is destroyed)")
    .option("--yes", "do not ask for confirmation (needed when stdin is not a terminal, unless --confirm-stdin)")
    .option("--confirm-stdin", "read the confirmation (the device name) as a line from stdin even when it is not a terminal")
    .option("--no-verify", "do not check the image against the shimboot contract first (not recommended)")
    .option("--shim <file>", "also check that the image's kernel partition equals this RMA shim's KERN-A")
    .option("--no-readback", "do not read the drive back and compare it with the image")
    .option("--force-non-removable", "allow a drive that is neither removable nor on USB (e.g. an SD card reader on an internal bus)")
    .option("--allow-file", "allow DEVICE to be an existing regular file at least as large as the image (for tests)")
    .option("--json", "print a JSON report of what was done")
    .addHelpText(
      "after",
      "\nThe drive must be a whole disk (not a partition), removable or on USB, unmounted, and at least as large as the image.\n" +
        "Every byte of the image is written, read back and compared; the backup GPT is then moved to the drive's last sectors.\n\n" +
        "Examples:\n  lsblk -o NAME,SIZE,MODEL,TRAN,RM\n  sudo shimboot flash shimboot.bin /dev/sdb\n  sudo shimboot flash --yes --json shimboot.bin /dev/disk/by-id/usb-SanDisk_Ultra_1234-0:0",
    )
    .action(async (image: unknown, device: unknown, raw: unknown) => {
      const o = Options.parse(raw);
      const r = await flash({
        image: z.string().min(1).parse(image),
        device: z.string().min(1).parse(device),
        verify: o.verify,
        shim: o.shim,
        readback: o.readback,
        yes: o.yes === true,
        confirmStdin: o.confirmStdin === true,
        forceNonRemovable: o.forceNonRemovable === true,
        allowFile: o.allowFile === true,
        json: o.json === true,
      });
      process.stdout.write((o.json ? JSON.stringify(r, null, 2) : formatFlash(r)) + "\n");
    });
}
