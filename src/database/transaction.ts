import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';

const ER_LOCK_DEADLOCK = 1213;
const ER_LOCK_WAIT_TIMEOUT = 1205;
export const ER_DUP_ENTRY = 1062;

export function mysqlErrno(error: unknown): number | undefined {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/** Effects registered on each open transaction of `inTransaction`, by its manager. */
const effectsOf = new WeakMap<EntityManager, Array<() => unknown>>();
const logger = new Logger('Transaction');

/**
 * Registers `effect` to run once the transaction `manager` belongs to has committed: a relay kick for the
 * outbox row just written, a recovery job for the row just scheduled. Whoever writes the row registers
 * its effect here, so no caller has to remember it. A transaction that rolls back (including an attempt
 * `inTransaction` retries) runs none of its effects. Effects run in registration order, each awaited; one
 * that throws is logged and the others still run: the change has committed, and every effect registered
 * here has a slower net (the relay's poll, the reconciler's sweep) that does not depend on it.
 */
export function afterCommit(manager: EntityManager, effect: () => unknown): void {
  const effects = effectsOf.get(manager);
  // Outside `inTransaction` there is no commit to wait for: failing loudly beats an effect that never runs.
  if (!effects) throw new Error('afterCommit needs a transaction opened by inTransaction');
  effects.push(effect);
}

/**
 * Runs `work` in a short transaction and retries it when InnoDB picks it as a deadlock victim or a
 * lock wait times out: both roll the whole transaction back, so running it again is safe. Once it has
 * committed, runs what the work registered with `afterCommit`, then returns.
 * `work` must not call a gateway or the broker (never hold a transaction across the network).
 */
export async function inTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
  attempts = 4,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const effects: Array<() => unknown> = [];
    let result: T;
    try {
      result = await dataSource.transaction(async (manager) => {
        effectsOf.set(manager, effects);
        try {
          return await work(manager);
        } finally {
          effectsOf.delete(manager);
        }
      });
    } catch (error) {
      const errno = mysqlErrno(error);
      const retryable = errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT;
      if (!retryable || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
      continue;
    }
    for (const effect of effects) {
      try {
        await effect();
      } catch (error) {
        logger.error(`an effect after commit failed: ${(error as Error).message}`);
      }
    }
    return result;
  }
}
