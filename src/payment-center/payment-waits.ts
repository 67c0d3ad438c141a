import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import type { DataSource, EntityManager } from 'typeorm';
import { REDIS } from '../common/redis/redis.module';
import { afterCommit } from '../database/transaction';

/** The Redis channel a payment's change is announced on (its payment number is the message). */
export const PAYMENT_CHANGES_CHANNEL = 'payment-center:payment-changes';

/** How often one batched read checks every payment waited on by this instance (the net under the announcements). */
export const WAIT_SWEEP_MS = 500;

/** Payments one sweep reads at most; more are read in turns. */
const SWEEP_BATCH = 1000;

interface Watch {
  /** Changes seen since the waiter last looked. */
  pending: number;
  wake?: () => void;
  version?: number;
}

/**
 * Waiting for a payment to change, for a counter's long poll (GET /api/payments/:no?waitSeconds=N) and a
 * barcode pay request that waits for its answer. No waiter polls: a change committed on this instance wakes
 * its waiters at once; one committed on another instance is announced on Redis (barcode payments, whose
 * counters wait) and, should an announcement be lost or Redis be down, one read per WAIT_SWEEP_MS of the
 * versions of every payment this instance waits on finds it. So the cost is per instance, not per waiter.
 */
@Injectable()
export class PaymentWaits implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(PaymentWaits.name);
  private readonly watches = new Map<string, Set<Watch>>();
  private subscriber: Redis | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping = false;
  /** Where the next sweep's batch starts, so that more waited payments than one batch all get their turn. */
  private sweepFrom = 0;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    // A subscribed connection can do nothing else: a connection of its own, which queues while Redis is down.
    const subscriber = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined); // the request client logs Redis's state; the sweep covers the gap
    subscriber.on('message', (_channel: string, paymentNo: string) => this.wake(paymentNo));
    subscriber.subscribe(PAYMENT_CHANGES_CHANNEL).catch(() => undefined);
    this.subscriber = subscriber;
    this.sweeper = setInterval(() => void this.sweep(), WAIT_SWEEP_MS);
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
    this.subscriber?.disconnect();
  }

  /**
   * A payment changed in the transaction of `manager`: after it commits, this instance's waiters wake, and when
   * `announce` (a barcode payment) the other instances' too.
   */
  changed(manager: EntityManager, paymentNo: string, announce: boolean): void {
    afterCommit(manager, () => {
      this.wake(paymentNo);
      if (announce) this.redis.publish(PAYMENT_CHANGES_CHANNEL, paymentNo).catch(() => undefined);
    });
  }

  /**
   * Reads the payment with `read` until `done` says it is what the caller waits for, or `ms` pass; returns the
   * last read. The watch starts before the first read, so a change between the two is not missed.
   */
  async until<T extends { version: number }>(
    paymentNo: string,
    read: () => Promise<T>,
    done: (current: T) => boolean,
    ms: number,
  ): Promise<T> {
    const watch: Watch = { pending: 0 };
    const set = this.watches.get(paymentNo) ?? new Set<Watch>();
    set.add(watch);
    this.watches.set(paymentNo, set);
    const deadline = Date.now() + ms;
    try {
      let current = await read();
      watch.version = current.version;
      while (!done(current)) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) return current;
        if (watch.pending === 0) await this.next(watch, remaining);
        watch.pending = 0;
        current = await read();
        watch.version = current.version;
      }
      return current;
    } finally {
      set.delete(watch);
      if (set.size === 0) this.watches.delete(paymentNo);
    }
  }

  private next(watch: Watch, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        watch.wake = undefined;
        resolve();
      }
      watch.wake = finish;
    });
  }

  private wake(paymentNo: string): void {
    for (const watch of this.watches.get(paymentNo) ?? []) {
      watch.pending += 1;
      watch.wake?.();
    }
  }

  /** One read of the versions of every payment waited on here; a payment whose version moved wakes its waiters. */
  private async sweep(): Promise<void> {
    if (this.watches.size === 0 || this.sweeping) return; // one sweep at a time, however slow the database
    this.sweeping = true;
    const all = [...this.watches.keys()];
    if (this.sweepFrom >= all.length) this.sweepFrom = 0;
    const numbers = all.slice(this.sweepFrom, this.sweepFrom + SWEEP_BATCH);
    this.sweepFrom += SWEEP_BATCH;
    try {
      const rows: { payment_no: string; version: number }[] = await this.dataSource.query(
        `SELECT payment_no, version FROM payments WHERE payment_no IN (${numbers.map(() => '?').join(',')})`,
        numbers,
      );
      for (const row of rows) {
        const watches = this.watches.get(row.payment_no);
        if ([...(watches ?? [])].some((w) => w.version !== undefined && w.version !== Number(row.version))) {
          this.wake(row.payment_no);
        }
      }
    } catch (error) {
      this.logger.warn(`waits: could not read the payments waited on: ${(error as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }
}
