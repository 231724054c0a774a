// Timing series: medians of several runs, in seconds.

export const now = () => performance.now();
export const sec = (ms: number) => ms / 1000;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Series {
  runs: number;
  /** seconds */
  times: number[];
  median: number;
  min: number;
  max: number;
}

const r4 = (x: number) => +x.toFixed(4);

export function series(timesMs: number[]): Series {
  const t = timesMs.map(sec);
  return { runs: t.length, times: t.map(r4), median: r4(median(t)), min: r4(Math.min(...t)), max: r4(Math.max(...t)) };
}

/** `n` timed runs of `f` after `warmups` untimed ones; `after` runs untimed after each. */
export async function timeRuns(n: number, warmups: number, f: () => Promise<void>, after?: () => Promise<void>): Promise<Series> {
  for (let i = 0; i < warmups; i++) {
    await f();
    await after?.();
  }
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    await f();
    ts.push(now() - t);
    await after?.();
  }
  return series(ts);
}

/** Times one call. */
export async function timed(f: () => Promise<unknown>): Promise<number> {
  const t = now();
  await f();
  return now() - t;
}

/** a / b of two medians, two decimals. */
export const ratio = (a: Series, b: Series) => +(a.median / b.median).toFixed(2);
