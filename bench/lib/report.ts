// Printing: progress lines on stderr, Markdown tables on stdout.
import type { Series } from "./stats.js";

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function log(msg: string) {
  process.stderr.write(`bench: ${msg}\n`);
}

export const fmtS = (s: number) => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);
export const fmtGiB = (b: number) => `${(b / GiB).toFixed(3)} GiB`;
export const fmtMiB = (b: number) => `${(b / MiB).toFixed(1)} MiB`;

export function table(headers: string[], rows: string[][]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(w[i]!)).join(" | ") + " |";
  return [line(headers), "|" + w.map((n) => "-".repeat(n + 2)).join("|") + "|", ...rows.map(line)].join("\n");
}

/** A table row for a timing series: name, runs, median, range, note. */
export const seriesRow = (name: string, s: Series, note: string) => [name, String(s.runs), fmtS(s.median), `${fmtS(s.min)} – ${fmtS(s.max)}`, note];

export const SERIES_HEADERS = ["variant", "runs", "median", "min – max", "ratio"];
