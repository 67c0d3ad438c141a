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
