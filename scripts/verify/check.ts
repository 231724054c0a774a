// One item of the disk image contract (DESIGN.md §2): an id, whether the image
// meets it, and a message that says what was found and where.

export interface Check {
  /** stable identifier, e.g. "p3-init" or "rootfs-features" */
  id: string;
  ok: boolean;
  /** "p3 bootloader: bin/init present" — where, then what */
  message: string;
  /** GPT partition number the item is about, when there is one */
  partition?: number;
}

export interface VerifyResult {
  ok: boolean;
  checks: Check[];
}

/** Collects checks in the order they are made. */
export class CheckList {
  readonly checks: Check[] = [];

  add(id: string, ok: boolean, message: string, partition?: number): boolean {
    this.checks.push(partition === undefined ? { id, ok, message } : { id, ok, message, partition });
    return ok;
  }

  pass(id: string, message: string, partition?: number): true {
    this.add(id, true, message, partition);
    return true;
  }

  fail(id: string, message: string, partition?: number): false {
    this.add(id, false, message, partition);
    return false;
  }

  result(): VerifyResult {
    return { ok: this.checks.every((c) => c.ok), checks: this.checks };
  }
}

/** The name a partition goes by in messages: "p3 bootloader", "p5 rootfs nixos". */
export function where(index: number, role: string): string {
  return `p${index} ${role}`;
}
