import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { inTransaction } from '../../database/transaction';
import type { QueryJob } from './query-scheduler';
import type { Recoverable, RecoveryHandler, RecoveryKind } from './recovery-handler';
import { EARLY_TOLERANCE_MS, recoveryLeaseMs } from './recovery-schedule';

/** Rows of one kind worked at once by one sweep. */
const SWEEP_CONCURRENCY = 8;

/**
 * The one recovery engine: payments whose result did not arrive and refunds without a definite answer
 * are driven by the same claim / ask / record loop. Handlers (payment queries and closes, refund sends and
 * queries) register themselves; Bull jobs (`runJob`) work a row on time, the reconciler (`sweep`) works
 * whatever the database says is due.
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

  /** A Bull job's turn. */
  runJob(job: QueryJob): Promise<'worked' | 'skipped'> {
    return job.refundNo !== undefined
      ? this.run('refund', job.refundNo, job.attempt)
      : this.run('payment', job.paymentNo, job.attempt);
  }

  /** Works the row `key` of `kind` now, if it is still at `attempt`, due and held by no other worker. */
  async run(kind: RecoveryKind, key: string, attempt: number): Promise<'worked' | 'skipped'> {
    const handler = this.handler(kind);
    const now = this.clock.now().getTime();
    const row = await inTransaction(this.dataSource, (manager) =>
      handler.claimForJob(manager, key, {
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
   * the same claim and lease as a job, so a row another worker holds is not asked about twice ('skipped').
   * The handler's attempt then schedules the next one as any attempt does.
   */
  async runNow(kind: RecoveryKind, key: string): Promise<'worked' | 'skipped'> {
    const handler = this.handler(kind);
    const row = await inTransaction(this.dataSource, (manager) =>
      handler.claimForJob(manager, key, {
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
