// Steps that run side by side. When one fails, the others still write into
// the work directory and the temporary image: the first error is thrown only
// once every step has ended, so that the cleanup after it removes finished
// files instead of racing with their writers (and the error the user sees is
// the step's, not the cleanup's).

/** Awaits every step; then throws the first failure, if any. */
export async function allSteps(steps: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
