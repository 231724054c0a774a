// Nothing half-written survives a failure or Ctrl-C: temporary paths and
// running child processes are registered here and removed/killed on exit.
import { rmSync } from "node:fs";
import type { ChildProcess } from "node:child_process";

const paths = new Set<string>();
const children = new Set<ChildProcess>();
const groups = new Set<number>();
let installed = false;

function cleanupNow() {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
  children.clear();
  for (const g of groups) {
    try {
      process.kill(-g, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  groups.clear();
  for (const p of [...paths].reverse()) {
    try {
      // retried: a process just killed may still be closing a file in it
      rmSync(p, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* best effort on the way out */
    }
  }
  paths.clear();
}

function install() {
  if (installed) return;
  installed = true;
  process.on("exit", cleanupNow);
}

/**
 * The CLI's signal handling: Ctrl-C or a kill removes what is registered
 * here and exits 130/143. Only the program installs it, never a library user.
 */
export function cleanUpOnSignals(): void {
  install();
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      cleanupNow();
      process.stderr.write(`\nshimboot: interrupted (${sig}); temporary files removed, nothing written\n`);
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

/** Removes `path` on exit unless released first. */
export function removeOnExit(path: string): () => void {
  install();
  paths.add(path);
  return () => paths.delete(path);
}

export function trackChild(c: ChildProcess): void {
  install();
  children.add(c);
  c.once("exit", () => children.delete(c));
}

/** A child that leads its own process group (spawned detached): the whole group is killed on exit. */
export function trackProcessGroup(c: ChildProcess): void {
  install();
  if (c.pid !== undefined) groups.add(c.pid);
}
