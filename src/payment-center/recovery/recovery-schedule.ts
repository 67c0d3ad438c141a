/**
 * When to ask the gateway next, as pure functions of the configuration (PAYMENT_QUERY_SCHEDULE,
 * PAYMENT_QUERY_LONG_TAIL): the one place the query timing is decided.
 */
export interface RecoverySchedule {
  queryScheduleMs: readonly number[];
  longTailMs: readonly number[];
}

/**
 * The wait before query number `done + 1` of a PAYING payment, `done` queries having been made: the seed's
 * schedule first (its first delay counts from entering PAYING), then the long tail, whose last gap repeats.
 */
export function queryDelayMs(done: number, schedule: RecoverySchedule): number {
  const { queryScheduleMs, longTailMs } = schedule;
  if (done < queryScheduleMs.length) return queryScheduleMs[done];
  return longTailMs[Math.min(done - queryScheduleMs.length, longTailMs.length - 1)] ?? 60_000;
}

/** The wait before close attempt number `done + 1`, `done` having come back without a definite answer. */
export function closeDelayMs(done: number, schedule: RecoverySchedule): number {
  const { longTailMs } = schedule;
  return longTailMs[Math.min(Math.max(done - 1, 0), longTailMs.length - 1)] ?? 60_000;
}

/** The next query time of a PAYING payment: never later than its expiry, when the close path takes over. */
export function nextQueryAt(now: Date, done: number, expiresAt: Date, schedule: RecoverySchedule): Date {
  const next = now.getTime() + queryDelayMs(done, schedule);
  return new Date(Math.max(now.getTime(), Math.min(next, expiresAt.getTime())));
}
