// Every file of the host that the tests read, in one place. Each comes from
// an environment variable whose default is where Debian 12 puts it
// (scripts/install-deps-debian.sh installs the packages); nix/checks/vitest.nix
// sets every variable from nixpkgs, because the Nix sandbox has none of these
// paths. Tools (cgpt, futility, qemu-system-x86_64, ...) are found on PATH.
// `npm run test:sandbox` (test/sandbox.sh) runs the suite with these paths
// hidden and only the check's tools on PATH, as the Nix build does.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface HostPath {
  /** the environment variable that overrides the default */
  env: string;
  /** what the tests need there */
  what: string;
  /** where Debian has it (a function when it must be looked for) */
  debian: string | (() => string);
}

/** The newest kernel release under /lib/modules (Debian's linux-image-amd64). */
function newestDebianModules(): string {
  const releases = existsSync("/lib/modules") ? readdirSync("/lib/modules").sort((a, b) => a.localeCompare(b, undefined, { numeric: true })) : [];
  const r = releases.filter((v) => existsSync(join("/lib/modules", v, "modules.dep"))).at(-1);
  return r ? join("/lib/modules", r) : "/lib/modules/<release>";
}

export const HOST_PATHS = {
  busybox: { env: "SHIMBOOT_TEST_BUSYBOX", what: "a static busybox (busybox-static): the shim's initramfs and the test roots", debian: "/bin/busybox" },
  devkeys: { env: "SHIMBOOT_TEST_DEVKEYS", what: "the vboot developer keys (vboot-utils): fixture kernels are signed with their recovery keys", debian: "/usr/share/vboot/devkeys" },
  linuxSource: { env: "SHIMBOOT_TEST_LINUX_SOURCE", what: "a Linux 6.1 source tarball (linux-source-6.1): the fixture shim's real kernel", debian: "/usr/src/linux-source-6.1.tar.xz" },
  hostModules: {
    env: "SHIMBOOT_TEST_HOST_MODULES",
    what: "a kernel's modules directory (linux-image-amd64's /lib/modules/<release>): real .ko files of another release, for the synthetic shims and the module the fixture kernel must refuse",
    debian: newestDebianModules,
  },
  cryptsetup: { env: "SHIMBOOT_TEST_CRYPTSETUP", what: "cryptsetup (cryptsetup-bin): LUKS2 roots for the QEMU test", debian: "/usr/sbin/cryptsetup" },
} as const satisfies Record<string, HostPath>;

export type HostPathName = keyof typeof HOST_PATHS;

/** The path for `name`: its environment variable, or the Debian default. */
export function hostPath(name: HostPathName): string {
  const p: HostPath = HOST_PATHS[name];
  const fromEnv = process.env[p.env];
  if (fromEnv) return fromEnv;
  return typeof p.debian === "function" ? p.debian() : p.debian;
}

/** The names (with their variables) whose path does not exist: the suites that need them say so and skip. */
export function missingHostPaths(...names: HostPathName[]): string[] {
  return names.filter((n) => !existsSync(hostPath(n))).map((n) => `${hostPath(n)} (${HOST_PATHS[n].env}: ${HOST_PATHS[n].what})`);
}
