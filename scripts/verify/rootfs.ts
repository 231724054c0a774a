// Contract item 5: the root file systems the bootloader finds by GPT name
// (`shimboot_rootfs:<label>`), the driver partition `vendor`, and the last
// partition being a rootfs so it can grow to the USB's size.
import { GPT_NAME_UNITS, ROOTFS_PREFIX, VENDOR_LABEL } from "../contract.js";
import { TYPE_GUID } from "../contract.js";
import type { Partition } from "../read/gpt.js";
import { where } from "./check.js";
import type { VerifyContext } from "./context.js";
import type { PathStat } from "./ext-probe.js";
import { checkFileSystem } from "./filesystem.js";

const labelOf = (p: Partition) => p.label.slice(ROOTFS_PREFIX.length);
const roleOf = (p: Partition) => (labelOf(p) === VENDOR_LABEL ? "vendor" : `rootfs ${labelOf(p) || "(no label)"}`);

const roots = (ctx: VerifyContext) => ctx.partitions.filter((p) => p.label.startsWith(ROOTFS_PREFIX));

/** Every path a root file system's checks look at: one debugfs run. */
function paths(ctx: VerifyContext) {
  const dep = ctx.release ? `/lib/modules/${ctx.release}/modules.dep` : null;
  return { dep, all: ["/lib/modules", "/lib/firmware", "/sbin/init", ...(dep ? [dep] : [])] };
}

/** Starts what checkRootfs reads (verify starts every partition's at once). */
export function startRootfs(ctx: VerifyContext): void {
  for (const p of roots(ctx)) void ctx.ext(p).inspect(paths(ctx).all);
}

export async function checkRootfs(ctx: VerifyContext) {
  const { list } = ctx;
  const all = roots(ctx);
  const systems = all.filter((p) => labelOf(p) !== VENDOR_LABEL);
  if (systems.length === 0) {
    list.fail("rootfs-present", `rootfs: no partition named ${ROOTFS_PREFIX}<label>${all.length ? ` other than ${VENDOR_LABEL}` : ""}; the bootloader finds root file systems by GPT name`);
  } else {
    list.pass("rootfs-present", `rootfs: ${systems.map((p) => `p${p.index} "${labelOf(p)}"`).join(", ")}`);
  }

  const last = [...ctx.partitions].filter((p) => p.size > 0).sort((a, b) => a.start + a.size - (b.start + b.size)).at(-1);
  if (last && systems.includes(last)) list.pass("rootfs-last", `rootfs: the last partition, p${last.index}, is a rootfs (it can grow)`, last.index);
  else if (last) {
    const what = all.includes(last) ? `the ${VENDOR_LABEL} driver partition` : `"${last.label}" (${last.typeName}), not a rootfs`;
    list.fail("rootfs-last", `rootfs: the partition at the end of the disk is p${last.index}, ${what}; the rootfs must be last so it can grow to the USB's size`, last.index);
  }

  for (const p of all) await checkOne(ctx, p);
}

async function checkOne(ctx: VerifyContext, p: Partition) {
  const { list } = ctx;
  const W = where(p.index, roleOf(p));
  const label = labelOf(p);
  if (label === "") list.fail("rootfs-name", `${W}: GPT name "${p.label}" has an empty label after ${ROOTFS_PREFIX}`, p.index);
  else if (p.label.length > GPT_NAME_UNITS) list.fail("rootfs-name", `${W}: GPT name "${p.label}" is ${p.label.length} UTF-16 units, GPT holds ${GPT_NAME_UNITS}`, p.index);
  else list.pass("rootfs-name", `${W}: GPT name "${p.label}"`, p.index);

  if (p.type !== TYPE_GUID.linuxData) list.fail("rootfs-type", `${W}: type is ${p.typeName}, must be Linux data (${TYPE_GUID.linuxData})`, p.index);
  else list.pass("rootfs-type", `${W}: type Linux data`, p.index);

  const probe = ctx.ext(p);
  const { dep, all } = paths(ctx);
  const seen = await probe.inspect(all);
  const allowed = ctx.features && { features: ctx.features.ext4, kernel: ctx.features.kernel };
  if (!(await checkFileSystem(list, { prefix: "rootfs", where: W, partition: p, probe, superblock: seen.superblock, family: "ext4", allowed }))) return;

  const st = seen.stats;
  checkModules(ctx, p, W, st, dep);
  if (label === VENDOR_LABEL) {
    const present = ["/lib/modules", "/lib/firmware"].filter((path) => st.get(path)?.kind === "dir").map((path) => path.slice(1));
    if (present.length) list.pass("vendor-drivers", `${W}: ${present.join(" and ")} present`, p.index);
    else list.fail("vendor-drivers", `${W}: neither lib/modules nor lib/firmware is present; the driver partition carries the shim's modules and firmware`, p.index);
    return;
  }
  const init = st.get("/sbin/init");
  if (init && (init.kind === "file" || init.kind === "symlink")) {
    list.pass("rootfs-init", `${W}: /sbin/init present${init.kind === "symlink" ? ` (-> ${init.target ?? "?"})` : ""}`, p.index);
  } else {
    list.fail("rootfs-init", `${W}: /sbin/init ${init ? `is a ${init.kind}` : "is missing"}; the bootloader execs it after pivot_root`, p.index);
  }
}

/**
 * Where a partition carries kernel modules, they must be for p2's exact
 * release with a modules.dep: the shim's kernel loads nothing else.
 */
function checkModules(ctx: VerifyContext, p: Partition, W: string, st: Map<string, PathStat | null>, dep: string | null) {
  if (!dep) return;
  if (st.get("/lib/modules")?.kind !== "dir") return; // no drivers here (--drivers none, or they live elsewhere)
  if (st.get(dep)?.kind === "file") ctx.list.pass("rootfs-modules", `${W}: modules for the shim kernel ${ctx.release}, with modules.dep`, p.index);
  else ctx.list.fail("rootfs-modules", `${W}: lib/modules has no ${ctx.release}/modules.dep; the shim's kernel (${ctx.release}) cannot load these modules`, p.index);
}
