/**
 * When recovery asks a gateway, top to bottom: the one place its timing is decided, as pure functions of
 * the configuration (PAYMENT_QUERY_SCHEDULE, PAYMENT_QUERY_LONG_TAIL, PAYMENT_CLOSE_ATTEMPTS,
 * PAYMENT_REVIEW_REQUERY, GATEWAY_TIMEOUT_MS). Defaults: 30 s after entering PAYING, then 10, 20 and 30 s
 * (the seed's schedule), then the long tail (1, 2, 5, 10 min, the last repeating) until the order expires;
 * then up to 5 close attempts on the long tail; then review, asked again every hour A payment another one
 * made unnecessary (its order paid, or the buyer moved to another channel) is closed at once instead, its
 * close asked again on the long tail until the order expires.
 *
 * Every time computed here is written into the row (`next_query_at`) in the transaction that decides it, and
 * kept nowhere else: the recovery slot after it finds the row due (recovery-slots.ts), the reconciler is the net.
 */
export interface RecoverySchedule {
  queryScheduleMs: readonly number[];
  longTailMs: readonly number[];
  closeAttempts: number;
  reviewRequeryMs: number;
  refundReviewAfterMs: number;
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

// 3. The order expired, or another payment made this one unnecessary: CLOSING, the vendor is asked to close.

/** Past a create call's own timeout, the time between the commit and the call. */
const CREATE_CALL_MARGIN_MS = 2000;

/**
 * Until when a create call made at `requestedAt` may still be running (and land at the vendor): its own
 * timeout and a margin. Before then neither another request nor a close may take the payment over.
 */
export function createCallWindowEnds(requestedAt: Date, gatewayTimeoutMs: number): Date {
  return later(requestedAt, gatewayTimeoutMs + CREATE_CALL_MARGIN_MS);
}

/**
 * When to close an open payment that another made unnecessary (its order was paid by another payment, or the
 * buyer started one on another channel or account). At once when the vendor answered its create (it has a
 * credential: the trade is there). Otherwise its create call may still land at the vendor, even one that
 * came back without an answer (the request may have reached the vendor before the connection failed): a
 * close that arrived first would find nothing to close, and the create would then open a trade nobody
 * closes. So it waits for the window of the last call, which began at `gatewayRequestedAt`, or, once that is
 * cleared (the call came back unanswered), no later than the row's last change (`updatedAt`).
 */
export function supersededCloseAt(
  now: Date,
  payment: { payCredential: unknown; gatewayRequestedAt: Date | null; updatedAt: Date },
  gatewayTimeoutMs: number,
): Date {
  if (payment.payCredential) return now;
  const lastCall = payment.gatewayRequestedAt ?? payment.updatedAt;
  return new Date(Math.max(now.getTime(), createCallWindowEnds(lastCall, gatewayTimeoutMs).getTime()));
}

/** The wait before close attempt number `done + 1`, `done` having come back without a definite answer. */
export function closeDelayMs(done: number, schedule: Pick<RecoverySchedule, 'longTailMs'>): number {
  const { longTailMs } = schedule;
  return longTailMs[Math.min(Math.max(done - 1, 0), longTailMs.length - 1)] ?? 60_000;
}

/**
 * After a close attempt came back without a definite answer: when to try again, or `review`.
 *
 * Before the order expires (a payment closed because another one made it unnecessary) some trades cannot be
 * closed yet: an Alipay QR code nobody scanned does not exist at Alipay until it is scanned, and a UnionPay
 * consume has no close at all; both stay payable until the expiry. So the close is asked again on the long
 * tail (`done` attempts made so far), at the latest at the expiry, and never goes to review before it.
 *
 * From the expiry on, `sinceExpiry` attempts (this one included) count: review once PAYMENT_CLOSE_ATTEMPTS
 * of them came back without an answer (never FAILED: the buyer may have paid).
 */
export function afterUnansweredClose(
  now: Date,
  attempts: { done: number; sinceExpiry: number },
  expiresAt: Date,
  schedule: RecoverySchedule,
): Date | 'review' {
  if (now < expiresAt) {
    return new Date(Math.min(later(now, closeDelayMs(attempts.done, schedule)).getTime(), expiresAt.getTime()));
  }
  if (attempts.sinceExpiry >= schedule.closeAttempts) return 'review';
  return later(now, closeDelayMs(attempts.sinceExpiry, schedule));
}

// 4. In review (NEEDS_REVIEW) for want of an answer: still asked now and then, until an operator decides.

export function reviewRequeryAt(now: Date, schedule: Pick<RecoverySchedule, 'reviewRequeryMs'>): Date {
  return later(now, schedule.reviewRequeryMs);
}

// 5. A refund: sent at once, then asked about on the payments' query schedule (the long tail repeating).

export function refundQueryAt(now: Date, done: number, schedule: RecoverySchedule): Date {
  return later(now, queryDelayMs(done, schedule));
}

/**
 * A refund asked about without a definite answer: once REFUND_REVIEW_AFTER has passed since it was made, it
 * goes to review instead of being asked again (a refund must end; an operator decides what recovery cannot).
 */
export function refundReviewDue(now: Date, createdAt: Date, schedule: Pick<RecoverySchedule, 'refundReviewAfterMs'>) {
  return now.getTime() - createdAt.getTime() >= schedule.refundReviewAfterMs;
}

// Claims: how long a worker holds a row it is asking about.

/** A caller that names a row (`RecoveryEngine.run`) may work it a little before its time (clocks, timers). */
export const EARLY_TOLERANCE_MS = 1000;

/**
 * How long a claim holds a row: two gateway calls (a close, then a query) and a margin. A worker that dies
 * mid-call leaves the row to come due again when this ends.
 */
export function recoveryLeaseMs(gatewayTimeoutMs: number): number {
  return 2 * gatewayTimeoutMs + 5000;
}
