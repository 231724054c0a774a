// `npm run demo`: the whole chain on a machine without a shim. It builds the
// fixture shim with its real kernel (Linux 6.1 from linux-source-6.1, the
// factory hand-off built in; minutes the first time, then cached in
// .cache/test), assembles an image with a small busybox root file system
// with `shimboot build`, and boots it with `shimboot run`: the kernel hands
// over to the bootloader's menu, which starts the root file system. Extra
// arguments go to `shimboot run` (e.g. --timeout 60).
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { fixture, repoRoot } from "../test/fixtures/fixtures.js";
import { kbuildKernel } from "../test/kernel/build.js";
import { installBusybox, writeTree } from "../test/qemu/make-test-disk.js";
import { CLI, runCli } from "../test/helpers/cli.js";

const say = (s: string) => process.stderr.write(`demo: ${s}\n`);

const INIT = `#!/bin/busybox sh
export PATH=/bin
exec </dev/ttyS0 >/dev/ttyS0 2>&1
echo
echo "Hello from the demo root file system (the last partition of the image)."
echo "The bootloader started it on the fixture shim's kernel, Linux $(uname -r),"
if modprobe loop; then echo "and a module harvested from the shim loads: loop ($(grep -c . /proc/modules) loaded)."; fi
echo "This is a busybox shell; 'poweroff -f' or Ctrl-A X ends the demo."
echo
setsid -c sh -l
poweroff -f
`;

async function rootfs(dir: string) {
  await installBusybox(dir);
  for (const d of ["dev", "proc", "sys", "tmp", "root"]) await mkdir(join(dir, d), { recursive: true });
  await writeTree(dir, {
    "sbin/init": { content: INIT, mode: 0o755 },
    "etc/os-release": 'PRETTY_NAME="shimboot demo (busybox)"\n',
    "etc/profile": "export PS1='demo# '\n",
  });
}

async function main(): Promise<number> {
  const t0 = Date.now();
  say("the fixture shim: a real Linux 6.1 kernel (built once from linux-source-6.1: about 10 minutes on 2 cores, then cached)");
  const k = await kbuildKernel();
  say(`kernel ${k.release} ready (${Math.round((Date.now() - t0) / 1000)} s)`);
  const shim = await fixture("shim-kbuild");
  const out = join(repoRoot, ".cache/demo");
  await mkdir(out, { recursive: true });
  const image = join(out, "shimboot-demo.bin");
  const work = await mkdtemp(join(out, "rootfs-"));
  try {
    await rootfs(work);
    say(`shimboot build --shim ${shim} --rootfs <busybox tree> --out ${image}`);
    const r = await runCli(["build", "--shim", shim, "--rootfs", work, "--name", "demo", "--out", image, "--force", "--boot-timeout", "10", "--drivers", "inject", "--extra-space", "8M"], { env: { TMPDIR: out } });
    if (r.code !== 0) {
      process.stderr.write(r.stderr);
      return r.code;
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  say(`shimboot run ${image} ${process.argv.slice(2).join(" ")}`);
  say("the menu boots 'demo' after 10 s (Enter boots it now); Ctrl-A X quits QEMU");
  const child = spawn(process.execPath, [CLI, "run", ...process.argv.slice(2), image], { stdio: "inherit" });
  return new Promise((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
}

process.exitCode = await main();
