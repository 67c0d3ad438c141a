import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bull';
import { AppConfig } from '../../config/app-config';
import { RecoveryEngine } from './recovery-engine';

/** The recovery queue: its one repeatable job is the slot job. */
export const PAYMENT_QUERIES_QUEUE = 'payment-queries';

/**
 * The slot job's options. Bull names each slot's job `repeat:<hash of the repeat key>:<slot start>`, so every
 * instance that adds the repeat, or schedules its next slot, makes the same job: one per slot across them all.
 */
export function slotJobOptions(slotMs: number) {
  return { repeat: { every: slotMs }, removeOnComplete: true, removeOnFail: 100 };
}

/** Redis that does not answer within this long does not hold up bootstrap or shutdown; the next check retries. */
const REDIS_WAIT_MS = 2000;

/**
 * The Bull side of recovery (RECOVERY_JOBS_ENABLED): one repeatable job on the recovery queue, every
 * RECOVERY_SLOT_MS; each slot's job sweeps every kind's rows due by then (grace 0), so a row due at T is worked
 * within about one slot of T. Bull hands each slot's job to one instance; two sweeps that overlap anyway (a
 * slot that outlasts the next, a stalled job run again) cannot work a row twice: the claims skip held rows.
 *
 * A payment, a refund or any state change therefore writes nothing to Redis: its next query time is in its
 * row (recovery-schedule.ts decides it), and the slot that follows finds it.
 *
 * Redis keeps nothing on disk here: every instance makes sure the repeat exists at bootstrap and every few
 * slots after, so it comes back by itself after Redis lost it. The same repeat added again is the same repeat
 * (and the same next job); a repeat of another slot length (the setting changed between deploys) is removed.
 * While the slot job is gone the reconciler (DB only) is the net.
 */
@Injectable()
export class RecoverySlots implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RecoverySlots.name);
  private timer?: NodeJS.Timeout;
  private ensuring?: Promise<void>;
  private slot?: Promise<number>;

  constructor(
    @InjectQueue(PAYMENT_QUERIES_QUEUE) private readonly queue: Queue,
    @Inject(RecoveryEngine) private readonly recovery: RecoveryEngine,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.recovery.jobsEnabled) return;
    // Concurrency 1: a slot's sweep already works its rows several at a time, and slots queued behind a long one
    // are taken by other instances. Any job on this queue is a slot (one left by an older release sweeps too).
    this.queue
      .process(1, () => this.work())
      .catch((error: unknown) => this.logger.error(`recovery slots stopped: ${(error as Error).message}`));
    void this.ensureRepeat();
    this.timer = setInterval(() => void this.ensureRepeat(), ensureEveryMs(this.config.recovery.slotMs));
  }

  /** Bull's close (after this) waits for a slot in progress; a process killed mid-slot leaves its rows leased. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.ensuring;
    await this.slot;
  }

  /** One slot: every row due by now. */
  private work(): Promise<number> {
    const slot = this.recovery.sweepDue(0).finally(() => (this.slot = undefined));
    this.slot = slot;
    return slot;
  }

  /** Makes sure the repeat and its next slot's job exist, and that no repeat of another slot length does. */
  ensureRepeat(): Promise<void> {
    this.ensuring ??= this.ensure()
      .catch((error: unknown) => {
        this.logger.warn(`recovery slot job not checked (${(error as Error).message}); the reconciler is the net`);
      })
      .finally(() => (this.ensuring = undefined));
    return this.ensuring;
  }

  private async ensure(): Promise<void> {
    const options = slotJobOptions(this.config.recovery.slotMs);
    await withTimeout(async () => {
      for (const repeat of await this.queue.getRepeatableJobs()) {
        if (repeat.every !== options.repeat.every) await this.queue.removeRepeatableByKey(repeat.key);
      }
      // Added every time: when the repeat is there, this rewrites the same entry and finds the next slot's job
      // already made (same id); when only the job was lost, it comes back.
      await this.queue.add({}, options);
    });
  }
}

/** How often an instance checks that the repeat exists: every ten slots, within 1 s .. 1 min. */
export function ensureEveryMs(slotMs: number): number {
  return Math.min(60_000, Math.max(1000, 10 * slotMs));
}

async function withTimeout(work: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${REDIS_WAIT_MS} ms`)), REDIS_WAIT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
