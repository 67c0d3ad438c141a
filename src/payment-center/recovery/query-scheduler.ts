import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';

export const PAYMENT_QUERIES_QUEUE = 'payment-queries';

export interface QueryJob {
  paymentNo: string;
  /** The payment's attempt count when the job was made; a job whose attempt has passed does nothing. */
  attempt: number;
}

/** Redis that does not answer within this long does not hold up the money path: the reconciler is the net. */
const ADD_TIMEOUT_MS = 1000;

/**
 * Puts "ask the gateway about this payment at this time" into Bull as a delayed job. The job id is derived
 * from the payment and the attempt, so scheduling the same attempt twice makes one job. Never throws: the
 * time is also in the payment row, and the reconciler finds a row whose job was lost.
 */
@Injectable()
export class QueryScheduler {
  private readonly logger = new Logger(QueryScheduler.name);

  constructor(
    @InjectQueue(PAYMENT_QUERIES_QUEUE) readonly queue: Queue<QueryJob>,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async schedule(paymentNo: string, attempt: number, at: Date): Promise<void> {
    if (!this.config.recovery.jobsEnabled) return;
    const delay = Math.max(0, at.getTime() - this.clock.now().getTime());
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.add(
          { paymentNo, attempt },
          { jobId: `${paymentNo}:${attempt}`, delay, removeOnComplete: true, removeOnFail: 1000 },
        ),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis did not answer within ${ADD_TIMEOUT_MS} ms`)),
            ADD_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (error) {
      this.logger.warn(
        `query job for ${paymentNo} #${attempt} not scheduled (${(error as Error).message}); the reconciler will find it`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
