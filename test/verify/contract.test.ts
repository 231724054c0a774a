// verify against hand-built contract images: a conforming one passes every
// item; breaking one thing at a time fails exactly that item, with a message
// that says what is wrong and where.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { $ } from "zx";
import { readFile, rm, truncate } from "node:fs/promises";
import { join } from "node:path";
import { overwrite } from "../fixtures/chromeos-disk.js";
import { fixture } from "../fixtures/fixtures.js";
import { makeContractImage, scratch, type Layout } from "./contract-image.js";
import { failedIds, onlyFailure, verify } from "./helpers.js";

$.quiet = true;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await scratch());
});
afterAll(async () => {
  await cleanup();
});

let n = 0;
const build = (tweak?: (l: Layout) => void | Promise<void>, shim?: Parameters<typeof fixture>[0]) => makeContractImage(dir, { name: `image-${n++}`, ...(tweak ? { tweak } : {}), ...(shim ? { shim } : {}) });
const part = (l: Layout, index: number) => l.parts.find((p) => p.index === index)!;
const withFeatures = (l: Layout, index: number, extra: string[]) => {
  const c = part(l, index).content;
  if (!c || !("ext" in c)) throw new Error(`p${index} has no ext content`);
  c.features = [...c.features, ...extra];
};

describe("a conforming image", () => {
  it("passes every check, including the byte-for-byte comparison with its shim", async () => {
    const img = await build();
    const r = await verify(img.path, img.shimPath);
    expect(failedIds(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.id)).toEqual(expect.arrayContaining(["gpt", "gpt-pmbr", "layout-bounds", "layout-overlap", "p1-lsb-factory", "p1-factory-sh", "p2-type", "p2-attributes", "p2-vboot", "p2-shim-kernel", "p3-position", "p3-init", "p3-bootstrap", "p3-sbin", "p3-console", "p3-bootloader-conf", "p3-manifest", "rootfs-present", "rootfs-last", "rootfs-features", "rootfs-init", "vendor-drivers"]));
  });

  it("passes without --shim and then makes no shim comparison", async () => {
    const img = await build();
    const r = await verify(img.path);
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.id)).not.toContain("p2-shim-kernel");
  });

  it("passes without a vendor partition", async () => {
    const img = await build((l) => {
      l.parts = l.parts.filter((p) => p.index !== 4);
    });
    expect(failedIds(await verify(img.path))).toEqual([]);
  });

  it("accepts orphan_file and metadata_csum_seed when the shim kernel is 5.15", async () => {
    const img = await build((l) => withFeatures(l, 5, ["orphan_file", "metadata_csum_seed"]), "shim-x86-lz4-gzip");
    expect(failedIds(await verify(img.path))).toEqual([]);
  });
});

describe("the GPT and the layout", () => {
  it("fails gpt-pmbr when the protective MBR is missing", async () => {
    const img = await build((l) => {
      l.protectiveMbr = false;
    });
    const f = onlyFailure(await verify(img.path));
    expect(f.id).toBe("gpt-pmbr");
    expect(f.message).toMatch(/no protective MBR.*cgpt boot -p/);
  });

  it("fails gpt, naming the copy, when the secondary GPT header is damaged", async () => {
    const img = await build();
    await overwrite(img.path, Number((await $`stat -c %s ${img.path}`).stdout) - 512, Buffer.from("XXXXXXXX"));
    const f = onlyFailure(await verify(img.path));
    expect(f.id).toBe("gpt");
    expect(f.message).toMatch(/Secondary GPT header is invalid.*cgpt repair/);
  });

  it("fails gpt and layout-bounds, naming the partition, when the file is truncated", async () => {
    const img = await build();
    const p5End = (img.starts.get(5)! + 32768) * 512;
    await truncate(img.path, p5End - 1024 * 1024);
    const r = await verify(img.path);
    expect(failedIds(r)).toEqual(["gpt", "layout-bounds"]);
    const bounds = r.checks.find((c) => c.id === "layout-bounds")!;
    expect(bounds.partition).toBe(5);
    expect(bounds.message).toMatch(/p5 \(shimboot_rootfs:nixos\) ends at sector \d+ but the file has \d+ sectors/);
  });

  it("fails layout-overlap, naming both partitions, when two entries share sectors", async () => {
    const img = await build();
    // Extend p4's end LBA into p5 in both copies of the entries (entry 4 is
    // 3*128 bytes in, its last LBA at +40); cgpt then rejects both copies.
    const p4 = img.starts.get(4)!;
    const last = Buffer.alloc(8);
    last.writeBigUInt64LE(BigInt(p4 + 16384 + 100));
    const fileSectors = Number((await $`stat -c %s ${img.path}`).stdout) / 512;
    for (const entriesLba of [2, fileSectors - 33]) await overwrite(img.path, entriesLba * 512 + 3 * 128 + 40, last);
    const r = await verify(img.path);
    expect(failedIds(r)).toEqual(["gpt", "layout-overlap"]);
    const f = r.checks.find((c) => c.id === "layout-overlap")!;
    expect(f.message).toMatch(/p4 \(sectors \d+–\d+\) overlaps p5/);
  });
});

describe("p1, the STATE partition", () => {
  it("fails p1-lsb-factory when dev_image/etc/lsb-factory is missing", async () => {
    const img = await build((l) => rm(join(l.trees.state, "dev_image/etc/lsb-factory")));
    const f = onlyFailure(await verify(img.path));
    expect(f).toMatchObject({ id: "p1-lsb-factory", partition: 1 });
    expect(f.message).toBe("p1 state: dev_image/etc/lsb-factory missing; older shims' bootstrap.sh aborts without it");
  });
});

describe("p2, the kernel", () => {
  it("fails p2-attributes when the kernel keeps the shim's priority 15 and tries 15", async () => {
    const img = await build((l) => {
      part(l, 2).attrs = { successful: 1, tries: 15, priority: 15 };
    });
    const f = onlyFailure(await verify(img.path));
    expect(f).toMatchObject({ id: "p2-attributes", partition: 2 });
    expect(f.message).toBe("p2 kernel: attributes are successful=1 tries=15 priority=15, must be successful=1 tries=5 priority=10 (cgpt add -i 2 -S 1 -T 5 -P 10)");
  });

  it("fails p2-shim-kernel, giving the offset, when one byte differs from the shim's KERN-A", async () => {
    const img = await build();
    const p2 = img.starts.get(2)!;
    const offset = 32768 * 512 - 1; // the unsigned tail: the blob itself still verifies
    await overwrite(img.path, p2 * 512 + offset, Buffer.from([0x5a]));
    const f = onlyFailure(await verify(img.path, img.shimPath));
    expect(f).toMatchObject({ id: "p2-shim-kernel", partition: 2 });
    expect(f.message).toMatch(new RegExp(`^p2 kernel: differs from the shim's KERN-A \\(.*shim-x86\\.bin partition 2 \\(KERN-A\\)\\) at byte ${offset} of the partition \\(0x5a here, 0x00 in the shim\\)`));
  });

  it("fails p2-shim-kernel when the image carries another shim's kernel of a different size", async () => {
    const img = await build();
    const f = onlyFailure(await verify(img.path, await fixture("shim-x86-zstd-lz4")));
    expect(f.id).toBe("p2-shim-kernel");
    expect(f.message).toMatch(/is 32768 sectors but the shim's KERN-A .* is 24576/);
  });

  it("fails p2-vboot when the signed command line was edited", async () => {
    const img = await build();
    const p2 = img.starts.get(2)! * 512;
    const bytes = await readFile(img.path);
    const at = bytes.indexOf("kern_guid=%U", p2, "latin1");
    expect(at).toBeGreaterThan(p2);
    await overwrite(img.path, at, Buffer.from("KERN"));
    const r = await verify(img.path);
    expect(failedIds(r)).toEqual(["p2-vboot"]);
    expect(r.checks.find((c) => c.id === "p2-vboot")!.message).toMatch(/^p2 kernel: the vboot blob does not verify: .*body/i);
  });
});

describe("p3, the bootloader", () => {
  it("fails p3-position when the bootloader is not at kernel partition + 1", async () => {
    const img = await build((l) => {
      part(l, 3).index = 6; // the ChromeOS rootfs becomes p6; p3 is left empty
    });
    const f = onlyFailure(await verify(img.path));
    expect(f.id).toBe("p3-position");
    expect(f.message).toBe("p3 bootloader: the shim's bootstrap.sh boots kernel partition 2 + 1 = 3 as a ChromeOS rootfs, but there is no partition 3; the ChromeOS rootfs partition is p6 instead");
  });

  it("fails p3-position when p3 has the Linux data type", async () => {
    const img = await build((l) => {
      part(l, 3).type = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
    });
    const f = onlyFailure(await verify(img.path));
    expect(f.id).toBe("p3-position");
    expect(f.message).toMatch(/but p3 is Linux data "bootloader"$/);
  });

  it("fails p3-init when bin/init is missing", async () => {
    const img = await build((l) => rm(join(l.trees.bootloader, "bin/init")));
    const f = onlyFailure(await verify(img.path));
    expect(f).toMatchObject({ id: "p3-init", partition: 3 });
    expect(f.message).toMatch(/^p3 bootloader: bin\/init is missing/);
  });

  it("fails p3-init when bin/init is not executable", async () => {
    const img = await build((l) => $`chmod 644 ${join(l.trees.bootloader, "bin/init")}`.then(() => undefined));
    const f = onlyFailure(await verify(img.path));
    expect(f.message).toBe("p3 bootloader: bin/init is not executable (mode 0644)");
  });

  it("fails p3-sbin when sbin is a directory instead of a symlink to bin", async () => {
    const img = await build(async (l) => {
      await rm(join(l.trees.bootloader, "sbin"));
      await $`mkdir ${join(l.trees.bootloader, "sbin")}`;
    });
    const f = onlyFailure(await verify(img.path));
    expect(f.id).toBe("p3-sbin");
    expect(f.message).toMatch(/sbin is a dir, must be a symlink to "bin"/);
  });

  it("fails p3-console when dev/console was not created", async () => {
    const img = await build((l) => {
      const c = part(l, 3).content;
      if (c && "ext" in c) c.devConsole = false;
    });
    const f = onlyFailure(await verify(img.path));
    expect(f.id).toBe("p3-console");
    expect(f.message).toBe("p3 bootloader: dev/console is missing, must be char device 5:1");
  });

  it("fails p3-manifest, naming the field, when the manifest has no board", async () => {
    const img = await build(async (l) => {
      const file = join(l.trees.bootloader, "shimboot/manifest.json");
      const m = JSON.parse(await $`cat ${file}`.then((r) => r.stdout));
      delete m.board;
      await $`echo ${JSON.stringify(m)} > ${file}`;
    });
    const f = onlyFailure(await verify(img.path));
    expect(f.id).toBe("p3-manifest");
    expect(f.message).toMatch(/^p3 bootloader: shimboot\/manifest\.json is invalid: board: /);
  });

  it("fails p3-fs when the bootloader is ext4 rather than ext2", async () => {
    const img = await build((l) => {
      const c = part(l, 3).content;
      if (c && "ext" in c) Object.assign(c, { ext: "ext4", features: [...c.features, "has_journal", "extent"] });
    });
    const f = onlyFailure(await verify(img.path));
    expect(f.id).toBe("p3-fs");
    expect(f.message).toMatch(/^p3 bootloader: is not ext2 \(has .*extent.*\); the shim's bootstrap.sh mounts it as ext2/);
  });
});

describe("the root file systems", () => {
  it("fails rootfs-features on a 4.14 kernel when the rootfs has orphan_file and metadata_csum_seed", async () => {
    const img = await build((l) => withFeatures(l, 5, ["orphan_file", "metadata_csum_seed"]), "shim-x86-zstd-lz4");
    const f = onlyFailure(await verify(img.path));
    expect(f).toMatchObject({ id: "rootfs-features", partition: 5 });
    expect(f.message).toMatch(/^p5 rootfs nixos: features (orphan_file, metadata_csum_seed|metadata_csum_seed, orphan_file) not supported by the shim kernel 4\.14\.91/);
    expect(f.message).toContain("mke2fs -O ^");
  });

  it("fails rootfs-last when the STATE partition sits after the rootfs", async () => {
    const img = await build((l) => {
      l.parts.push(l.parts.shift()!);
    });
    const f = onlyFailure(await verify(img.path));
    expect(f).toMatchObject({ id: "rootfs-last", partition: 1 });
    expect(f.message).toBe('rootfs: the partition at the end of the disk is p1, "STATE" (Linux data), not a rootfs; the rootfs must be last so it can grow to the USB\'s size');
  });

  it("fails rootfs-last when the vendor driver partition is last", async () => {
    const img = await build((l) => {
      const vendor = l.parts.splice(3, 1)[0]!;
      l.parts.push(vendor);
    });
    const f = onlyFailure(await verify(img.path));
    expect(f.id).toBe("rootfs-last");
    expect(f.message).toMatch(/is p4, the vendor driver partition/);
  });

  it("fails rootfs-present when no partition is named shimboot_rootfs:<label>", async () => {
    const img = await build((l) => {
      part(l, 5).label = "nixos";
      l.parts = l.parts.filter((p) => p.index !== 4);
    });
    const r = await verify(img.path);
    expect(failedIds(r)).toEqual(["rootfs-present", "rootfs-last"]);
    expect(r.checks.find((c) => c.id === "rootfs-present")!.message).toMatch(/no partition named shimboot_rootfs:<label>/);
  });

  it("fails rootfs-init when the rootfs has no /sbin/init", async () => {
    const img = await build((l) => rm(join(l.trees.rootfs, "sbin/init")));
    const f = onlyFailure(await verify(img.path));
    expect(f).toMatchObject({ id: "rootfs-init", partition: 5 });
    expect(f.message).toBe("p5 rootfs nixos: /sbin/init is missing; the bootloader execs it after pivot_root");
  });

  it("fails vendor-drivers when the vendor partition holds neither lib/modules nor lib/firmware", async () => {
    const img = await build((l) => rm(join(l.trees.vendor, "lib"), { recursive: true }));
    const f = onlyFailure(await verify(img.path));
    expect(f).toMatchObject({ id: "vendor-drivers", partition: 4 });
  });

  it("fails rootfs-fs when the rootfs partition holds no file system", async () => {
    const img = await build((l) => {
      delete part(l, 5).content;
    });
    const r = await verify(img.path);
    const f = onlyFailure(r);
    expect(f).toMatchObject({ id: "rootfs-fs", partition: 5 });
    expect(f.message).toMatch(/^p5 rootfs nixos: no ext2\/ext4 file system at sector \d+/);
  });
});
