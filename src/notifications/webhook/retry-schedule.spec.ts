import { DEFAULTS, parseDurationList } from '../../config/environment';
import { nextAttemptAfter, RETRY_JITTER } from './retry-schedule';

const NOW = new Date('2025-03-01T08:00:00.000Z');
const SCHEDULE = [15_000, 60_000, 300_000];
const after = (date: Date | null) => (date ? date.getTime() - NOW.getTime() : null);

describe('nextAttemptAfter', () => {
  it("waits the step's time, moved by at most ±20%", () => {
    expect(RETRY_JITTER).toBe(0.2);
    expect(after(nextAttemptAfter(NOW, 0, SCHEDULE, () => 0.5))).toBe(15_000);
    expect(after(nextAttemptAfter(NOW, 0, SCHEDULE, () => 0))).toBe(12_000);
    expect(after(nextAttemptAfter(NOW, 0, SCHEDULE, () => 0.999_999))).toBe(18_000);
    expect(after(nextAttemptAfter(NOW, 2, SCHEDULE, () => 0))).toBe(240_000);
    expect(after(nextAttemptAfter(NOW, 2, SCHEDULE, () => 0.999_999))).toBe(360_000);
  });

  it('stays within the bounds with Math.random', () => {
    for (let i = 0; i < 1000; i += 1) {
      const wait = after(nextAttemptAfter(NOW, 1, SCHEDULE)) as number;
      expect(wait).toBeGreaterThanOrEqual(48_000);
      expect(wait).toBeLessThanOrEqual(72_000);
    }
  });

  it('gives whole milliseconds and never the past', () => {
    const next = nextAttemptAfter(NOW, 0, [1], () => 0.3) as Date;
    expect(Number.isInteger(next.getTime())).toBe(true);
    expect(next.getTime()).toBeGreaterThanOrEqual(NOW.getTime());
  });

  it('is null once the schedule has run out, and for a step that is not one', () => {
    expect(nextAttemptAfter(NOW, SCHEDULE.length - 1, SCHEDULE, () => 0.5)).not.toBeNull();
    expect(nextAttemptAfter(NOW, SCHEDULE.length, SCHEDULE, () => 0.5)).toBeNull();
    expect(nextAttemptAfter(NOW, SCHEDULE.length + 5, SCHEDULE, () => 0.5)).toBeNull();
    expect(nextAttemptAfter(NOW, -1, SCHEDULE, () => 0.5)).toBeNull();
    expect(nextAttemptAfter(NOW, 0, [], () => 0.5)).toBeNull();
  });
});

describe('the default WEBHOOK_RETRY_SCHEDULE', () => {
  const schedule = parseDurationList(DEFAULTS.WEBHOOK_RETRY_SCHEDULE);
  const total = (random: () => number) => {
    let at = NOW;
    for (let step = 0; ; step += 1) {
      const next = nextAttemptAfter(at, step, schedule, random);
      if (!next) return { steps: step, ms: at.getTime() - NOW.getTime() };
      at = next;
    }
  };

  it('spans about a day (between 20 h and 28 h) without jitter, with the waits growing', () => {
    const { steps, ms } = total(() => 0.5);
    expect(steps).toBe(schedule.length);
    expect(ms).toBeGreaterThanOrEqual(20 * 3_600_000);
    expect(ms).toBeLessThanOrEqual(28 * 3_600_000);
    expect(schedule.every((wait, i) => i === 0 || wait >= schedule[i - 1])).toBe(true);
  });

  it('stays within ±20% of that with the jitter at its bounds', () => {
    const plain = total(() => 0.5).ms;
    expect(total(() => 0).ms).toBe(Math.round(plain * 0.8));
    expect(total(() => 0.999_999).ms).toBeLessThanOrEqual(plain * 1.2);
  });
});
