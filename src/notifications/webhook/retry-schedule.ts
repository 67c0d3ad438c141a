/** How far either way a wait of the retry schedule is moved at random, so a partner's backlog does not retry in step. */
export const RETRY_JITTER = 0.2;

/**
 * When a webhook delivery that has failed `step` times before (in this round: a replay or a retry starts a new one)
 * and has just failed again is due next: after the step's wait of WEBHOOK_RETRY_SCHEDULE, moved by up to ±20%;
 * null once the schedule has run out (the delivery is then FAILED, for the admin list).
 */
export function nextAttemptAfter(
  now: Date,
  step: number,
  scheduleMs: readonly number[],
  random: () => number = Math.random,
): Date | null {
  if (step < 0 || step >= scheduleMs.length) return null;
  const wait = scheduleMs[step] * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random());
  return new Date(now.getTime() + Math.round(wait));
}
