/** The longest cooldown, as a multiple of the first: a partner down for hours is still tried every so often. */
const MAX_COOLDOWN_FACTOR = 32;

/**
 * One webhook partner's circuit, in this process. Closed: sends go out. `threshold` failed sends in a row open
 * it: nothing is sent to the partner until the cooldown has passed (its deliveries wait, no attempt spent); then it
 * is half-open: one trial send at a time. A success closes it; a failed trial opens it again for twice as long
 * (up to 32x). Other partners are not affected.
 */
export class CircuitBreaker {
  private failuresInRow = 0;
  private opens = 0;
  private openUntil = 0;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
  ) {}

  /** How many more sends may start now, with `inFlight` running: unlimited when closed, 1 trial when half-open. */
  sendsAllowed(nowMs: number, inFlight: number): number {
    if (this.failuresInRow < this.threshold) return Number.POSITIVE_INFINITY;
    if (nowMs < this.openUntil) return 0;
    return inFlight === 0 ? 1 : 0;
  }

  succeeded(): void {
    this.failuresInRow = 0;
    this.opens = 0;
    this.openUntil = 0;
  }

  /** Records a failed send; true when it opened (or reopened) the circuit. */
  failed(nowMs: number): boolean {
    this.failuresInRow += 1;
    if (this.failuresInRow < this.threshold) return false;
    // Already open: a send that was in flight when it opened, not a trial; it must not lengthen the cooldown
    // (with WEBHOOK_CONCURRENCY sends out when a partner goes down, each would double it).
    if (nowMs < this.openUntil) return false;
    const factor = Math.min(2 ** this.opens, MAX_COOLDOWN_FACTOR);
    this.opens += 1;
    this.openUntil = nowMs + this.cooldownMs * factor;
    return true;
  }

  describe(nowMs: number): { state: 'closed' | 'open' | 'half-open'; failuresInRow: number; openUntil: string | null } {
    const state = this.failuresInRow < this.threshold ? 'closed' : nowMs < this.openUntil ? 'open' : 'half-open';
    return {
      state,
      failuresInRow: this.failuresInRow,
      openUntil: state === 'open' ? new Date(this.openUntil).toISOString() : null,
    };
  }
}
