// The partition table, written last with cgpt on the image file.
import { runOk } from "../lib/exec.js";
import type { Plan } from "../plan/plan.js";

export async function writeGpt(image: string, plan: Plan): Promise<void> {
  await runOk("cgpt", ["create", image]);
  await runOk("cgpt", ["edit", "-u", plan.diskGuid, image]);
  for (const p of plan.partitions) {
    const attrs = p.attributes ? ["-S", p.attributes.successful, "-T", p.attributes.tries, "-P", p.attributes.priority] : [];
    await runOk("cgpt", ["add", "-i", p.index, "-b", p.start, "-s", p.size, "-t", p.type, "-l", p.label, "-u", p.uuid, ...attrs, image]);
  }
  // protective MBR so other tools see a GPT disk
  await runOk("cgpt", ["boot", "-p", image]);
}
