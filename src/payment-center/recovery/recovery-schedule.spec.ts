import {
  afterUnansweredClose,
  supersededCloseAt,
  closeDelayMs,
  firstQueryAt,
  nextQueryAt,
  queryDelayMs,
  refundQueryAt,
  refundReviewDue,
  reviewRequeryAt,
} from './recovery-schedule';

const schedule = {
  queryScheduleMs: [30_000, 10_000, 20_000, 30_000],
  longTailMs: [60_000, 120_000, 300_000],
  closeAttempts: 3,
  reviewRequeryMs: 3_600_000,
  refundReviewAfterMs: 86_400_000,
};

describe('recovery schedule', () => {
  it("follows the seed's schedule, then the long tail whose last gap repeats", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map((done) => queryDelayMs(done, schedule) / 1000)).toEqual([
      30, 10, 20, 30, 60, 120, 300, 300, 300,
    ]);
  });

  it('never schedules a query past the expiry: the close path takes over there', () => {
    const now = new Date('2026-11-25T10:00:00Z');
    expect(nextQueryAt(now, 0, new Date('2026-11-25T11:00:00Z'), schedule)).toEqual(new Date('2026-11-25T10:00:30Z'));
    expect(nextQueryAt(now, 0, new Date('2026-11-25T10:00:05Z'), schedule)).toEqual(new Date('2026-11-25T10:00:05Z'));
    expect(nextQueryAt(now, 0, new Date('2026-11-25T09:00:00Z'), schedule)).toEqual(now);
  });

  it('retries a close on the long tail', () => {
    expect([1, 2, 3, 4].map((done) => closeDelayMs(done, schedule) / 1000)).toEqual([60, 120, 300, 300]);
  });

  it('asks first 30 s after PAYING, refunds on the same schedule, review every hour', () => {
    const now = new Date('2026-11-25T10:00:00Z');
    expect(firstQueryAt(now, schedule)).toEqual(new Date('2026-11-25T10:00:30Z'));
    expect(refundQueryAt(now, 1, schedule)).toEqual(new Date('2026-11-25T10:00:10Z'));
    expect(refundQueryAt(now, 9, schedule)).toEqual(new Date('2026-11-25T10:05:00Z'));
    expect(reviewRequeryAt(now, schedule)).toEqual(new Date('2026-11-25T11:00:00Z'));
  });

  it('retries an unanswered close until PAYMENT_CLOSE_ATTEMPTS, then review (never FAILED)', () => {
    const now = new Date('2026-11-25T10:00:00Z');
    const expired = new Date('2026-11-25T09:59:00Z');
    const close = (done: number) => afterUnansweredClose(now, { done, sinceExpiry: done }, expired, schedule);
    expect(close(1)).toEqual(new Date('2026-11-25T10:01:00Z'));
    expect(close(2)).toEqual(new Date('2026-11-25T10:02:00Z'));
    expect(close(3)).toBe('review');
  });

  it('before the expiry, retries a close on the long tail up to the expiry, and never sends it to review', () => {
    const now = new Date('2026-11-25T10:00:00Z');
    const expires = new Date('2026-11-25T10:03:00Z');
    const close = (done: number, at = now) => afterUnansweredClose(at, { done, sinceExpiry: 0 }, expires, schedule);
    expect(close(1)).toEqual(new Date('2026-11-25T10:01:00Z'));
    expect(close(2)).toEqual(new Date('2026-11-25T10:02:00Z'));
    // The long tail says 5 min: the expiry comes first, and the attempts made before it do not count.
    expect(close(7)).toEqual(expires);
    expect(afterUnansweredClose(expires, { done: 8, sinceExpiry: 1 }, expires, schedule)).toEqual(
      new Date('2026-11-25T10:04:00Z'),
    );
    expect(afterUnansweredClose(expires, { done: 10, sinceExpiry: 3 }, expires, schedule)).toBe('review');
  });

  it('closes a superseded payment at once, or when its own create call can no longer land', () => {
    const now = new Date('2026-11-25T10:00:00Z');
    const at = (time: string) => new Date(`2026-11-25T${time}Z`);
    const payment = (payCredential: unknown, gatewayRequestedAt: Date | null, updatedAt = at('09:59:58')) => ({
      payCredential,
      gatewayRequestedAt,
      updatedAt,
    });
    // The vendor answered the create: the trade is there, close it now.
    expect(supersededCloseAt(now, payment({ type: 'code_url' }, null), 10_000)).toEqual(now);
    // A call running since 09:59:59: its window ends 10 s + 2 s later.
    expect(supersededCloseAt(now, payment(null, at('09:59:59')), 10_000)).toEqual(at('10:00:11'));
    // A call that came back unanswered (requested time cleared): counted from the row's last change.
    expect(supersededCloseAt(now, payment(null, null), 10_000)).toEqual(at('10:00:10'));
    expect(supersededCloseAt(now, payment(null, null, at('09:50:00')), 10_000)).toEqual(now);
  });

  it('sends a refund without a definite answer to review once REFUND_REVIEW_AFTER has passed since it was made', () => {
    const made = new Date('2026-11-25T10:00:00Z');
    expect(refundReviewDue(new Date('2026-11-26T09:59:59Z'), made, schedule)).toBe(false);
    expect(refundReviewDue(new Date('2026-11-26T10:00:00Z'), made, schedule)).toBe(true);
  });
});
