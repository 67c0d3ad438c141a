import {
  afterUnansweredClose,
  closeDelayMs,
  firstQueryAt,
  nextQueryAt,
  queryDelayMs,
  refundQueryAt,
  reviewRequeryAt,
} from './recovery-schedule';

const schedule = {
  queryScheduleMs: [30_000, 10_000, 20_000, 30_000],
  longTailMs: [60_000, 120_000, 300_000],
  closeAttempts: 3,
  reviewRequeryMs: 3_600_000,
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
    expect(afterUnansweredClose(now, 1, schedule)).toEqual(new Date('2026-11-25T10:01:00Z'));
    expect(afterUnansweredClose(now, 2, schedule)).toEqual(new Date('2026-11-25T10:02:00Z'));
    expect(afterUnansweredClose(now, 3, schedule)).toBe('review');
  });
});
