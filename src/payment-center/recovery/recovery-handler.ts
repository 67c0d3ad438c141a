import type { EntityManager } from 'typeorm';

/** What the recovery engine works on: a row with a next query time and a count of attempts made. */
export interface Recoverable {
  id: string;
  status: string;
  queryAttempts: number;
  nextQueryAt: Date | null;
}

/** A sweep's claim: the due rows, oldest first. */
export interface DueClaim {
  statuses: readonly string[];
  dueBefore: Date;
  limit: number;
  leaseUntil: Date;
}

/** A claim of one named row, made for attempt `attempt` (`any`: a caller that asks now, whatever the attempt). */
export interface OneClaim {
  statuses: readonly string[];
  attempt: number | 'any';
  dueBefore: Date;
  leaseUntil: Date;
}

/** A named row a caller may take: still at the caller's attempt, in a recoverable status, due. */
export function isClaimable(row: Recoverable, claim: OneClaim): boolean {
  return (
    claim.statuses.includes(row.status) &&
    (claim.attempt === 'any' || row.queryAttempts === claim.attempt) &&
    row.nextQueryAt !== null &&
    row.nextQueryAt <= claim.dueBefore
  );
}

/** The kinds of work: payments and refunds. */
export type RecoveryKind = 'payment' | 'refund';

/**
 * One kind of work the recovery engine drives: payments (queries, closes) or refunds (sends, queries). The
 * engine claims rows through `claimDue`/`claimOne` in a short transaction of its own, commits, and hands
 * each claimed row to `work`, which calls the gateway with no transaction open and records the answer
 * (a state change, or the next time from the recovery schedule, written in the row for a later sweep).
 */
export interface RecoveryHandler<T extends Recoverable = Recoverable> {
  readonly kind: RecoveryKind;
  /** Statuses in which rows of this kind are still worked (when they have a next query time). */
  readonly statuses: readonly string[];
  /** The repository's SKIP LOCKED claim of due rows, leased; in the engine's transaction. */
  claimDue(manager: EntityManager, claim: DueClaim): Promise<T[]>;
  /** The repository's SKIP LOCKED claim of one named row; in the engine's transaction. */
  claimOne(manager: EntityManager, key: string, claim: OneClaim): Promise<T | undefined>;
  /** One attempt on a row the caller holds (claimed, or leased by its creator). Never throws. */
  work(row: T): Promise<void>;
}
