// The confirmation prompt: which answers erase the drive.
import { describe, expect, it } from "vitest";
import { PassThrough, Readable } from "node:stream";
import { accepts, readAnswer } from "../../scripts/flash/confirm.js";

describe("accepts", () => {
  const t = { name: "sdb", path: "/dev/disk/by-id/usb-SanDisk_Ultra-0:0" };

  it("accepts the kernel name or the path as given, surrounding blanks ignored", () => {
    expect(accepts("sdb", t)).toBe(true);
    expect(accepts("  sdb \n", t)).toBe(true);
    expect(accepts("/dev/disk/by-id/usb-SanDisk_Ultra-0:0", t)).toBe(true);
  });

  it("rejects anything else: yes, an empty line, another disk, a partition", () => {
    for (const a of ["yes", "y", "", "sda", "sdb1", "/dev/sdb", "SDB"]) expect(accepts(a, t), a).toBe(false);
  });
});

describe("readAnswer", () => {
  it("prints the prompt and returns the first line read", async () => {
    const out = new PassThrough();
    let shown = "";
    out.on("data", (c) => (shown += c));
    expect(await readAnswer(Readable.from(["sdb\nmore\n"]), out, "Type it: ", false)).toBe("sdb");
    expect(shown).toBe("Type it: ");
  });

  it("returns null when the input ends without a line", async () => {
    expect(await readAnswer(Readable.from([]), new PassThrough(), "Type it: ", false)).toBeNull();
  });
});
