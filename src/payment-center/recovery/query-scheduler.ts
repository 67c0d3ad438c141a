import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { afterCommit } from '../../database/transaction';

export const PAYMENT_QUERIES_QUEUE = 'payment-queries';

export type QueryJob =
  /** `attempt`: the payment's attempt count when the job was made; a job whose attempt has passed does nothing. */
  | { paymentNo: string; attempt: number; refundNo?: undefined }
  /** The same for a refund: send it (attempt 0) or ask about it. */
  | { refundNo: string; attempt: number; paymentNo?: undefined };

/** Redis that does not answer within this long does not hold up the money path: the reconciler is the net. */
const ADD_TIMEOUT_MS = 1000;

/**
 * Puts "ask the gateway about this payment at this time" into Bull as a delayed job, once the transaction
 * that wrote that time into the row has committed (a job for a rolled-back time would ask about nothing).
 * The job id is derived from the payment and the attempt, so scheduling the same attempt twice makes one
 * job. Never throws: the time is also in the row, and the reconciler finds a row whose job was lost.
 */
@Injectable()
export class QueryScheduler {
  private readonly logger = new Logger(QueryScheduler.name);

  constructor(
    @InjectQueue(PAYMENT_QUERIES_QUEUE) readonly queue: Queue<QueryJob>,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** `manager`: the transaction that wrote `at` as the payment's next query time. */
  schedule(manager: EntityManager, paymentNo: string, attempt: number, at: Date): void {
    afterCommit(manager, () => this.add({ paymentNo, attempt }, `${paymentNo}:${attempt}`, at));
  }

  /**
   * The close of a payment another one made unnecessary, due at `at` (its first close attempt, attempt 0 of
   * CLOSING). Its own id: the payment's first query job (attempt 0 too) may still be waiting in the queue.
   */
  scheduleClose(manager: EntityManager, paymentNo: string, at: Date): void {
    afterCommit(manager, () => this.add({ paymentNo, attempt: 0 }, `${paymentNo}:close`, at));
  }

  /** `manager`: the transaction that wrote `at` as the refund's next attempt time. */
  scheduleRefund(manager: EntityManager, refundNo: string, attempt: number, at: Date): void {
    afterCommit(manager, () => this.add({ refundNo, attempt }, `${refundNo}:${attempt}`, at));
  }

  private async add(job: QueryJob, jobId: string, at: Date): Promise<void> {
    if (!this.config.recovery.jobsEnabled) return;
    const delay = Math.max(0, at.getTime() - this.clock.now().getTime());
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.add(job, { jobId, delay, removeOnComplete: true, removeOnFail: 1000 }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis did not answer within ${ADD_TIMEOUT_MS} ms`)),
            ADD_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (error) {
      this.logger.warn(`job ${jobId} not scheduled (${(error as Error).message}); the reconciler will find it`);
    } finally {
      clearTimeout(timer);
    }
  }
}
