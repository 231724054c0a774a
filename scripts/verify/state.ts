// Contract item 2: p1, the STATE partition older shims mount and log to.
import { TYPE_GUID } from "../contract.js";
import { extFsAt } from "../read/extfs.js";
import { where } from "./check.js";
import type { VerifyContext } from "./context.js";
import { statPaths } from "./ext-probe.js";
import { checkFileSystem } from "./filesystem.js";

const W = where(1, "state");

export async function checkState(ctx: VerifyContext) {
  const { list } = ctx;
  const p = ctx.partitions.find((x) => x.index === 1);
  if (!p) {
    list.fail("p1-type", `${W}: no partition 1; older shims abort unless partition 1 holds dev_image/etc/lsb-factory`);
    return;
  }
  if (p.type !== TYPE_GUID.linuxData) {
    list.fail("p1-type", `${W}: type is ${p.typeName}, must be Linux data (${TYPE_GUID.linuxData})`, p.index);
  } else list.pass("p1-type", `${W}: type Linux data`, p.index);

  const fs = extFsAt(ctx.img.path, p.start, `${ctx.img.path} partition 1`);
  const allowed = ctx.features && { features: ctx.features.ext4, kernel: ctx.features.kernel };
  if (!(await checkFileSystem(list, { prefix: "p1", where: W, partition: p, fs, family: "ext4", allowed }))) return;

  const st = await statPaths(fs, ["/dev_image/etc/lsb-factory", "/dev_image/factory/sh"]);
  const lsb = st.get("/dev_image/etc/lsb-factory");
  if (lsb?.kind === "file") list.pass("p1-lsb-factory", `${W}: dev_image/etc/lsb-factory present`, p.index);
  else list.fail("p1-lsb-factory", `${W}: dev_image/etc/lsb-factory ${lsb ? `is a ${lsb.kind}, not a regular file` : "missing"}; older shims' bootstrap.sh aborts without it`, p.index);
  const sh = st.get("/dev_image/factory/sh");
  if (sh?.kind === "dir") list.pass("p1-factory-sh", `${W}: directory dev_image/factory/sh present`, p.index);
  else list.fail("p1-factory-sh", `${W}: dev_image/factory/sh ${sh ? `is a ${sh.kind}, not a directory` : "missing"}`, p.index);
}
