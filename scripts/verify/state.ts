// Contract item 2: p1, the STATE partition older shims mount and log to.
import { TYPE_GUID } from "../contract.js";
import { where } from "./check.js";
import type { VerifyContext } from "./context.js";
import { checkFileSystem } from "./filesystem.js";

const W = where(1, "state");
const PATHS = ["/dev_image/etc/lsb-factory", "/dev_image/factory/sh"];
const partition = (ctx: VerifyContext) => ctx.partitions.find((x) => x.index === 1);

/** Starts what checkState reads (verify starts every partition's at once). */
export function startState(ctx: VerifyContext): void {
  const p = partition(ctx);
  if (p) void ctx.ext(p).inspect(PATHS);
}

export async function checkState(ctx: VerifyContext) {
  const { list } = ctx;
  const p = partition(ctx);
  if (!p) {
    list.fail("p1-type", `${W}: no partition 1; older shims abort unless partition 1 holds dev_image/etc/lsb-factory`);
    return;
  }
  if (p.type !== TYPE_GUID.linuxData) {
    list.fail("p1-type", `${W}: type is ${p.typeName}, must be Linux data (${TYPE_GUID.linuxData})`, p.index);
  } else list.pass("p1-type", `${W}: type Linux data`, p.index);

  const probe = ctx.ext(p);
  const seen = await probe.inspect(PATHS);
  const allowed = ctx.features && { features: ctx.features.ext4, kernel: ctx.features.kernel };
  if (!(await checkFileSystem(list, { prefix: "p1", where: W, partition: p, probe, superblock: seen.superblock, family: "ext4", allowed }))) return;

  const st = seen.stats;
  const lsb = st.get("/dev_image/etc/lsb-factory");
  if (lsb?.kind === "file") list.pass("p1-lsb-factory", `${W}: dev_image/etc/lsb-factory present`, p.index);
  else list.fail("p1-lsb-factory", `${W}: dev_image/etc/lsb-factory ${lsb ? `is a ${lsb.kind}, not a regular file` : "missing"}; older shims' bootstrap.sh aborts without it`, p.index);
  const sh = st.get("/dev_image/factory/sh");
  if (sh?.kind === "dir") list.pass("p1-factory-sh", `${W}: directory dev_image/factory/sh present`, p.index);
  else list.fail("p1-factory-sh", `${W}: dev_image/factory/sh ${sh ? `is a ${sh.kind}, not a directory` : "missing"}`, p.index);
}
