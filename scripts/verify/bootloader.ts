// Contract item 4: p3, the bootloader partition the shim's bootstrap.sh
// mounts (kernel partition + 1, ChromeOS rootfs, ext2) and switch_roots into.
import { TYPE_GUID } from "../contract.js";
import { where } from "./check.js";
import type { VerifyContext } from "./context.js";
import type { PathStat } from "./ext-probe.js";
import { checkFileSystem } from "./filesystem.js";
import { KERNEL_INDEX } from "./kernel.js";
import { parseManifest } from "./manifest.js";

export const BOOTLOADER_INDEX = KERNEL_INDEX + 1;
const W = where(BOOTLOADER_INDEX, "bootloader");

const PATHS = {
  init: "/bin/init",
  bootstrap: "/bin/bootstrap.sh",
  sbin: "/sbin",
  console: "/dev/console",
  conf: "/etc/shimboot/bootloader.conf",
  manifest: "/shimboot/manifest.json",
} as const;

const STATS = Object.values(PATHS);
const FILES = [PATHS.manifest];
const partition = (ctx: VerifyContext) => ctx.partitions.find((x) => x.index === BOOTLOADER_INDEX);

/** Starts what checkBootloader reads (verify starts every partition's at once). */
export function startBootloader(ctx: VerifyContext): void {
  const p = partition(ctx);
  if (p?.type === TYPE_GUID.chromeosRootfs && p.size > 1) void ctx.ext(p).inspect(STATS, FILES);
}

const describe = (st: PathStat | null | undefined) => (st ? `is a ${st.kind === "file" ? "regular file" : st.kind}` : "is missing");

export async function checkBootloader(ctx: VerifyContext) {
  const { list } = ctx;
  const p = partition(ctx);
  if (!p || p.type !== TYPE_GUID.chromeosRootfs) {
    const elsewhere = ctx.partitions.filter((x) => x.type === TYPE_GUID.chromeosRootfs && x.index !== BOOTLOADER_INDEX && x.size > 1);
    const found = p ? `p${BOOTLOADER_INDEX} is ${p.typeName} "${p.label}"` : `there is no partition ${BOOTLOADER_INDEX}`;
    const also = elsewhere.length ? `; the ChromeOS rootfs partition is ${elsewhere.map((x) => `p${x.index}`).join(", ")} instead` : "";
    list.fail("p3-position", `${W}: the shim's bootstrap.sh boots kernel partition ${KERNEL_INDEX} + 1 = ${BOOTLOADER_INDEX} as a ChromeOS rootfs, but ${found}${also}`, p?.index);
    return;
  }
  list.pass("p3-position", `${W}: at kernel partition + 1, type ChromeOS rootfs`, p.index);
  if (p.size <= 1) {
    list.fail("p3-size", `${W}: is ${p.size} sector; bootstrap.sh skips root candidates of one sector`, p.index);
    return;
  }
  list.pass("p3-size", `${W}: ${p.size} sectors`, p.index);

  const probe = ctx.ext(p);
  const seen = await probe.inspect(STATS, FILES);
  const allowed = ctx.features && { features: ctx.features.ext2, kernel: ctx.features.kernel };
  if (!(await checkFileSystem(list, { prefix: "p3", where: W, partition: p, probe, superblock: seen.superblock, family: "ext2", allowed }))) return;

  const st = seen.stats;
  const init = st.get(PATHS.init);
  if (init?.kind === "file" && (init.perm & 0o111) !== 0) list.pass("p3-init", `${W}: bin/init present, executable`, p.index);
  else if (init?.kind === "file") list.fail("p3-init", `${W}: bin/init is not executable (mode ${init.perm.toString(8).padStart(4, "0")})`, p.index);
  else list.fail("p3-init", `${W}: bin/init ${describe(init)}; switch_root runs /sbin/init = bin/init, the shimboot bootloader`, p.index);

  const bootstrap = st.get(PATHS.bootstrap);
  if (bootstrap?.kind === "file") list.pass("p3-bootstrap", `${W}: bin/bootstrap.sh present`, p.index);
  else list.fail("p3-bootstrap", `${W}: bin/bootstrap.sh ${describe(bootstrap)}, must be a regular file`, p.index);

  const sbin = st.get(PATHS.sbin);
  if (sbin?.kind === "symlink" && sbin.target === "bin") list.pass("p3-sbin", `${W}: sbin -> bin`, p.index);
  else list.fail("p3-sbin", `${W}: sbin ${sbin?.kind === "symlink" ? `points to "${sbin.target}"` : describe(sbin)}, must be a symlink to "bin" (so /sbin/init is bin/init)`, p.index);

  const con = st.get(PATHS.console);
  if (con?.kind === "char" && con.device?.major === 5 && con.device.minor === 1) list.pass("p3-console", `${W}: dev/console is char device 5:1`, p.index);
  else list.fail("p3-console", `${W}: dev/console ${con?.kind === "char" ? `is char device ${con.device?.major}:${con.device?.minor}` : describe(con)}, must be char device 5:1`, p.index);

  const conf = st.get(PATHS.conf);
  if (conf?.kind === "file") list.pass("p3-bootloader-conf", `${W}: etc/shimboot/bootloader.conf present`, p.index);
  else list.fail("p3-bootloader-conf", `${W}: etc/shimboot/bootloader.conf ${describe(conf)}, must be a regular file`, p.index);

  const man = st.get(PATHS.manifest);
  if (man?.kind !== "file") {
    list.fail("p3-manifest", `${W}: shimboot/manifest.json ${describe(man)}, must be a regular file`, p.index);
    return;
  }
  const parsed = parseManifest(seen.files.get(PATHS.manifest) ?? "");
  if (!parsed.ok) list.fail("p3-manifest", `${W}: shimboot/manifest.json is invalid: ${parsed.error}`, p.index);
  else if (ctx.release && parsed.manifest.kernelRelease !== ctx.release) {
    list.fail("p3-manifest", `${W}: shimboot/manifest.json says kernelRelease ${parsed.manifest.kernelRelease} but p${KERNEL_INDEX}'s kernel is ${ctx.release}`, p.index);
  } else {
    const m = parsed.manifest;
    list.pass("p3-manifest", `${W}: shimboot/manifest.json valid (${m.tool.name} ${m.tool.version}, board ${m.board}, kernel ${m.kernelRelease})`, p.index);
  }
}
