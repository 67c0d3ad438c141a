import { type DataSource, type EntityTarget, In, type ObjectLiteral } from 'typeorm';
import { inTransaction } from '../../database/transaction';

/** A job may run a little before its row's time (clocks, timer granularity). */
export const EARLY_TOLERANCE_MS = 1000;

/** How long a claim holds a row: two gateway calls (a close, then a query) and a margin. */
export function recoveryLeaseMs(gatewayTimeoutMs: number): number {
  return 2 * gatewayTimeoutMs + 5000;
}

/** Rows recovery works on: payments and refunds share these columns. */
export interface Recoverable extends ObjectLiteral {
  id: string;
  status: string;
  queryAttempts: number;
  nextQueryAt: Date | null;
}

/**
 * Claims up to `limit` rows due before `dueBefore`, oldest first, in a short transaction: `FOR UPDATE SKIP
 * LOCKED` (rows another instance is claiming are passed over), then their next query time moves to
 * `leaseUntil` and the transaction commits. Until the lease ends, no other claim takes them.
 */
export function claimDue<T extends Recoverable>(
  dataSource: DataSource,
  entity: EntityTarget<T>,
  options: { index: string; statuses: readonly string[]; dueBefore: Date; limit: number; leaseUntil: Date },
): Promise<T[]> {
  return inTransaction(dataSource, async (manager) => {
    const due = await manager
      .getRepository(entity)
      .createQueryBuilder('r')
      // Walk the next-query-time index in order, so only the due range is read and only the rows returned are
      // locked. With the status indexes, MariaDB may pick a plan that reads (and locks) every candidate before
      // sorting (seen in the benchmark's EXPLAIN at 1M rows); a second instance would then skip them all.
      .useIndex(options.index)
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .where('r.nextQueryAt <= :due', { due: options.dueBefore })
      .andWhere('r.status IN (:...statuses)', { statuses: options.statuses })
      .orderBy('r.nextQueryAt', 'ASC')
      .limit(options.limit)
      .getMany();
    if (due.length > 0) {
      await manager
        .getRepository(entity)
        .createQueryBuilder()
        .update()
        .set({ nextQueryAt: options.leaseUntil } as never)
        .where({ id: In(due.map((row) => row.id)) })
        .execute();
    }
    return due;
  });
}

/**
 * Claims one row for a job: only if it is still at the job's attempt, in a recoverable status, and due by
 * `dueBefore`; a row another instance is working (locked or leased) is left alone.
 */
export function claimOne<T extends Recoverable>(
  dataSource: DataSource,
  entity: EntityTarget<T>,
  options: {
    key: { column: 'paymentNo' | 'refundNo'; value: string };
    attempt: number;
    statuses: readonly string[];
    dueBefore: Date;
    leaseUntil: Date;
  },
): Promise<T | undefined> {
  return inTransaction(dataSource, async (manager) => {
    const row = await manager
      .getRepository(entity)
      .createQueryBuilder('r')
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .where(`r.${options.key.column} = :value`, { value: options.key.value })
      .getOne();
    const due =
      row !== null &&
      options.statuses.includes(row.status) &&
      row.queryAttempts === options.attempt &&
      row.nextQueryAt !== null &&
      row.nextQueryAt <= options.dueBefore;
    if (!due) return undefined;
    await manager
      .getRepository(entity)
      .createQueryBuilder()
      .update()
      .set({ nextQueryAt: options.leaseUntil } as never)
      .where({ id: row.id })
      .execute();
    return row;
  });
}

/** Runs `work` over `items` with at most `limit` at once. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(lanes);
}

/** A gateway call that never throws and never outlives `limitMs`. */
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
