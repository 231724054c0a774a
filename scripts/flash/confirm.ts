// Asking before destroying a drive: the user types the device's name.
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { UserError } from "../lib/errors.js";

/** The answers that confirm: the kernel name (sdb), or DEVICE as given (/dev/sdb). */
export function accepts(typed: string, target: { name: string; path: string }): boolean {
  const t = typed.trim();
  return t.length > 0 && (t === target.name || t === target.path);
}

/**
 * Prints `prompt` to `output` and reads one line from `input`; null when
 * the input ends first. Ctrl-C at a terminal prompt is an interruption
 * (nothing has been written yet).
 */
export function readAnswer(input: Readable, output: Writable, prompt: string, terminal: boolean): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input, output, terminal });
    let settled = false;
    const finish = (v: string | null, err?: Error) => {
      if (settled) return;
      settled = true;
      rl.close();
      if (err) reject(err);
      else resolve(v);
    };
    rl.on("SIGINT", () => {
      output.write("\n");
      finish(null, new UserError(null, "interrupted at the confirmation prompt; nothing was written", undefined, 130));
    });
    rl.on("close", () => finish(null));
    rl.question(prompt, (answer) => finish(answer));
  });
}
