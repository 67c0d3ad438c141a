/**
 * When recovery asks a gateway, top to bottom: the one place its timing is decided, as pure functions of
 * the configuration (PAYMENT_QUERY_SCHEDULE, PAYMENT_QUERY_LONG_TAIL, PAYMENT_CLOSE_ATTEMPTS,
 * PAYMENT_REVIEW_REQUERY, GATEWAY_TIMEOUT_MS). Defaults: 30 s after entering PAYING, then 10, 20 and 30 s
 * (the seed's schedule), then the long tail (1, 2, 5, 10 min, the last repeating) until the order expires;
 * then up to 5 close attempts on the long tail; then review, asked again every hour.
 *
 * Every time computed here is written into the row (`next_query_at`) in the transaction that decides it;
 * the Bull job is only the prompt way of noticing it, the reconciler's sweep the net.
 */
export interface RecoverySchedule {
  queryScheduleMs: readonly number[];
  longTailMs: readonly number[];
  closeAttempts: number;
  reviewRequeryMs: number;
}

const later = (now: Date, ms: number): Date => new Date(now.getTime() + ms);

// 1. A payment enters PAYING (the vendor call follows at once).

/** The first query of a new payment: the seed's first delay, counted from entering PAYING. */
export function firstQueryAt(now: Date, schedule: RecoverySchedule): Date {
  return later(now, queryDelayMs(0, schedule));
}

// 2. A PAYING payment was asked and the vendor gave no definite answer.

/**
 * The wait before query number `done + 1` of a PAYING payment, `done` queries having been made: the seed's
 * schedule first (its first delay counts from entering PAYING), then the long tail, whose last gap repeats.
 */
export function queryDelayMs(done: number, schedule: Pick<RecoverySchedule, 'queryScheduleMs' | 'longTailMs'>): number {
  const { queryScheduleMs, longTailMs } = schedule;
  if (done < queryScheduleMs.length) return queryScheduleMs[done];
  return longTailMs[Math.min(done - queryScheduleMs.length, longTailMs.length - 1)] ?? 60_000;
}

/** The next query time of a PAYING payment: never later than its expiry, when the close path takes over. */
export function nextQueryAt(
  now: Date,
  done: number,
  expiresAt: Date,
  schedule: Pick<RecoverySchedule, 'queryScheduleMs' | 'longTailMs'>,
): Date {
  const next = now.getTime() + queryDelayMs(done, schedule);
  return new Date(Math.max(now.getTime(), Math.min(next, expiresAt.getTime())));
}

// 3. The order expired: CLOSING, the vendor is asked to close the trade.

/** The wait before close attempt number `done + 1`, `done` having come back without a definite answer. */
export function closeDelayMs(done: number, schedule: Pick<RecoverySchedule, 'longTailMs'>): number {
  const { longTailMs } = schedule;
  return longTailMs[Math.min(Math.max(done - 1, 0), longTailMs.length - 1)] ?? 60_000;
}

/**
 * After close attempt number `done` came back without a definite answer: when to try again, or `review`
 * once PAYMENT_CLOSE_ATTEMPTS have been made (never FAILED: the buyer may have paid).
 */
export function afterUnansweredClose(now: Date, done: number, schedule: RecoverySchedule): Date | 'review' {
  if (done >= schedule.closeAttempts) return 'review';
  return later(now, closeDelayMs(done, schedule));
}

// 4. In review (NEEDS_REVIEW) for want of an answer: still asked now and then, until an operator decides.

export function reviewRequeryAt(now: Date, schedule: Pick<RecoverySchedule, 'reviewRequeryMs'>): Date {
  return later(now, schedule.reviewRequeryMs);
}

// 5. A refund: sent at once, then asked about on the payments' query schedule (the long tail repeating).

export function refundQueryAt(now: Date, done: number, schedule: RecoverySchedule): Date {
  return later(now, queryDelayMs(done, schedule));
}

// Claims: how long a worker holds a row it is asking about.

/** A job may run a little before its row's time (clocks, timer granularity). */
export const EARLY_TOLERANCE_MS = 1000;

/**
 * How long a claim holds a row: two gateway calls (a close, then a query) and a margin. A worker that dies
 * mid-call leaves the row to come due again when this ends.
 */
export function recoveryLeaseMs(gatewayTimeoutMs: number): number {
  return 2 * gatewayTimeoutMs + 5000;
}
