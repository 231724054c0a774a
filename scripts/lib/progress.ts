// Progress on long steps: on a terminal only, to stderr, never in --json.

export type Progress = (step: string) => void;

export function makeProgress(enabled: boolean): Progress {
  if (!enabled) return () => {};
  const t0 = Date.now();
  return (step) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${step}\n`);
}
