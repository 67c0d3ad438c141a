import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { inTransaction } from '../../database/transaction';
import type { Recoverable, RecoveryHandler, RecoveryKind } from './recovery-handler';
import { EARLY_TOLERANCE_MS, recoveryLeaseMs } from './recovery-schedule';

/** Rows of one kind worked at once by one sweep. */
const SWEEP_CONCURRENCY = 8;
/** Batches of one kind a sweep may claim before it yields to the next slot or tick. */
const MAX_BATCHES_PER_SWEEP = 20;

/**
 * The one recovery engine: payments whose result did not arrive and refunds without a definite answer
 * are driven by the same claim / ask / record loop. Handlers (payment queries and closes, refund sends and
 * queries) register themselves. Rows are found by their next query time alone: the slot job (RecoverySlots)
 * sweeps what is due every RECOVERY_SLOT_MS, the reconciler what is overdue; `run`/`runNow` work one row a
 * caller names. Nothing per row is kept anywhere but in the row.
 *
 * Every run first *claims* its rows in a short transaction (`FOR UPDATE SKIP LOCKED`, then the next query
 * time is pushed to the end of a lease), commits, and only then lets the handler call the gateway. So no two
 * instances ask about the same row at once, no transaction is open during the call, and a process that dies
 * mid-call leaves a row that comes due again when the lease ends. Timing: recovery-schedule.ts.
 */
@Injectable()
export class RecoveryEngine {
  private readonly handlers = new Map<RecoveryKind, RecoveryHandler>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** Handlers register when their module initialises; the engine imports none of them. */
  register<T extends Recoverable>(handler: RecoveryHandler<T>): void {
    if (this.handlers.has(handler.kind)) throw new Error(`a ${handler.kind} recovery handler is registered already`);
    this.handlers.set(handler.kind, handler);
  }

  kinds(): RecoveryKind[] {
    return [...this.handlers.keys()];
  }

  /** The end of a claim's lease from now: what a row's next query time becomes while a worker holds it. */
  leaseUntil(): Date {
    return new Date(this.clock.now().getTime() + recoveryLeaseMs(this.config.gateways.timeoutMs));
  }

  /**
   * Every kind's rows due at least `graceMs` ago, in batches of RECONCILER_BATCH_SIZE until a batch comes back
   * short (nothing more is due) or the sweep's bound, which leaves the rest to the next slot or tick. Any number
   * of sweeps may overlap, on one instance or many: each batch's claim skips the rows another one holds.
   * Returns how many rows it worked.
   */
  async sweepDue(graceMs: number): Promise<number> {
    const batchSize = this.config.recovery.reconcilerBatchSize;
    let total = 0;
    for (const kind of this.kinds()) {
      for (let batch = 0; batch < MAX_BATCHES_PER_SWEEP; batch++) {
        const claimed = await this.sweep(kind, batchSize, graceMs);
        total += claimed;
        if (claimed < batchSize) break;
      }
    }
    return total;
  }

  /**
   * Claims up to `limit` rows of `kind` due at least `graceMs` ago, oldest first, and works through them.
   * The range scan on the next-query-time index reads due rows only. Returns how many it claimed.
   */
  async sweep(kind: RecoveryKind, limit: number, graceMs: number): Promise<number> {
    const handler = this.handler(kind);
    const now = this.clock.now().getTime();
    const claimed = await inTransaction(this.dataSource, (manager) =>
      handler.claimDue(manager, {
        statuses: handler.statuses,
        dueBefore: new Date(now - graceMs),
        limit,
        leaseUntil: this.leaseUntil(),
      }),
    );
    await forEachLimited(claimed, SWEEP_CONCURRENCY, (row) => handler.work(row));
    return claimed.length;
  }

  /**
   * Works the row `key` of `kind` now, if it is still at `attempt`, due (or nearly: EARLY_TOLERANCE_MS) and held
   * by no other worker: a caller that has just made the row due and wants it worked without waiting for a slot.
   */
  async run(kind: RecoveryKind, key: string, attempt: number): Promise<'worked' | 'skipped'> {
    const handler = this.handler(kind);
    const now = this.clock.now().getTime();
    const row = await inTransaction(this.dataSource, (manager) =>
      handler.claimOne(manager, key, {
        statuses: handler.statuses,
        attempt,
        dueBefore: new Date(now + EARLY_TOLERANCE_MS),
        leaseUntil: this.leaseUntil(),
      }),
    );
    if (!row) return 'skipped';
    await handler.work(row);
    return 'worked';
  }

  /**
   * Works the row `key` of `kind` now, whether due or not (a business application asks for a fresh answer):
   * the same claim and lease as any other, so a row another worker holds is not asked about twice ('skipped').
   * The handler's attempt then schedules the next one as any attempt does.
   */
  async runNow(kind: RecoveryKind, key: string): Promise<'worked' | 'skipped'> {
    const handler = this.handler(kind);
    const row = await inTransaction(this.dataSource, (manager) =>
      handler.claimOne(manager, key, {
        statuses: handler.statuses,
        attempt: 'any',
        dueBefore: new Date(8.64e15),
        leaseUntil: this.leaseUntil(),
      }),
    );
    if (!row) return 'skipped';
    await handler.work(row);
    return 'worked';
  }

  private handler(kind: RecoveryKind): RecoveryHandler {
    const handler = this.handlers.get(kind);
    if (!handler) throw new Error(`no ${kind} recovery handler is registered`);
    return handler;
  }
}

/** Runs `work` over `items` with at most `limit` at once. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(lanes);
}
