/**
 * A gateway call that never throws and never outlives `limitMs`: recovery treats a thrown error, a
 * timeout and a vendor's "unknown" alike (no definite answer, ask again later).
 */
export async function ask<T>(
  call: () => Promise<T>,
  limitMs: number,
): Promise<T | { kind: 'unknown'; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      call(),
      new Promise<{ kind: 'unknown'; reason: string }>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'unknown', reason: `no answer within ${limitMs} ms` }), limitMs);
      }),
    ]);
  } catch (error) {
    return { kind: 'unknown', reason: String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A vendor call that may create something (a trade, a charge), bounded by `limitMs`: then it is aborted (adapters
 * pass the signal to their HTTP client, so the call really stops) and answered `unknown`. A thrown error is
 * `unknown` too. `timedOut` tells the two apart: a call cut short may still land at the vendor, one that came back
 * without an answer may not.
 */
export async function callBounded<T>(
  call: (signal: AbortSignal) => Promise<T>,
  limitMs: number,
): Promise<{ answer: T | { kind: 'unknown'; reason: string }; timedOut: boolean }> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), limitMs);
  });
  try {
    const answer = call(abort.signal).catch((error: unknown) => ({ kind: 'unknown' as const, reason: String(error) }));
    const first = await Promise.race([answer, timeout]);
    if (first !== 'timeout') return { answer: first, timedOut: false };
    abort.abort();
    return { answer: { kind: 'unknown', reason: `no answer within ${limitMs} ms` }, timedOut: true };
  } finally {
    clearTimeout(timer);
  }
}
