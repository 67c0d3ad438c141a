import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../../common/clock';
import { withLogContext } from '../../common/logging/log-context';
import { AppConfig } from '../../config/app-config';
import { inTransaction } from '../../database/transaction';
import { GatewayRegistry } from '../../gateways/gateway-registry';
import { MetricsService } from '../../metrics/metrics.service';
import type { RefundResult } from '../../gateways/gateway.types';
import { PaymentAttempt } from '../payment.entity';
import { PaymentsRepository } from '../payments.repository';
import { ask, claimDue, claimOne, EARLY_TOLERANCE_MS, forEachLimited, recoveryLeaseMs } from '../recovery/claims';
import { QueryScheduler } from '../recovery/query-scheduler';
import { queryDelayMs } from '../recovery/recovery-schedule';
import { Refund } from './refund.entity';
import { RefundStateService } from './refund-state.service';

/**
 * Drives a refund to a definite answer with the same machinery as payments: the first attempt sends it,
 * later ones ask the gateway about it (and send it again, under the same refund number, if the gateway
 * never saw it). Claims work like payment recovery: SKIP LOCKED, a lease, no transaction during a call.
 */
@Injectable()
export class RefundRecovery {
  private readonly logger = new Logger(RefundRecovery.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(RefundStateService) private readonly state: RefundStateService,
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(QueryScheduler) private readonly scheduler: QueryScheduler,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  private get leaseMs(): number {
    return recoveryLeaseMs(this.config.gateways.timeoutMs);
  }

  async sweep(limit: number, graceMs: number): Promise<number> {
    const now = this.clock.now().getTime();
    const claimed = await claimDue(this.dataSource, Refund, {
      index: 'ix_refunds_next_query',
      statuses: ['REFUNDING'],
      dueBefore: new Date(now - graceMs),
      limit,
      leaseUntil: new Date(now + this.leaseMs),
    });
    await forEachLimited(claimed, 8, (refund) => this.work(refund));
    return claimed.length;
  }

  async runJob(refundNo: string, attempt: number): Promise<'worked' | 'skipped'> {
    const now = this.clock.now().getTime();
    const refund = await claimOne(this.dataSource, Refund, {
      key: { column: 'refundNo', value: refundNo },
      attempt,
      statuses: ['REFUNDING'],
      dueBefore: new Date(now + EARLY_TOLERANCE_MS),
      leaseUntil: new Date(now + this.leaseMs),
    });
    if (!refund) return 'skipped';
    await this.work(refund);
    return 'worked';
  }

  /**
   * One attempt. The refund must be REFUNDING and held by the caller: claimed, or just created with its
   * next query time at the end of a lease.
   */
  async work(refund: Refund): Promise<void> {
    try {
      await withLogContext({ refundNo: refund.refundNo, paymentNo: refund.paymentNo }, () => this.attempt(refund));
    } catch (error) {
      this.logger.warn(`refund ${refund.refundNo} attempt failed: ${(error as Error).message}`);
    }
  }

  private async attempt(refund: Refund): Promise<void> {
    const payment = await this.payments.findByPaymentNo(refund.paymentNo);
    if (!payment) throw new Error(`payment ${refund.paymentNo} of refund ${refund.refundNo} is missing`);
    const gateway = this.gateways.get(refund.channel);
    const limit = this.config.gateways.timeoutMs + 1000;
    const send = () =>
      ask<RefundResult>(
        () =>
          gateway.refund({
            paymentNo: refund.paymentNo,
            refundNo: refund.refundNo,
            gatewayTradeNo: payment.gatewayTradeNo ?? '',
            totalFen: payment.paidAmountFen ?? payment.amountFen,
            refundFen: refund.amountFen,
            reason: refund.reason,
          }),
        limit,
      );
    const attempt = refund.queryAttempts + 1;
    let action: PaymentAttempt['action'] = 'refund';
    let result: RefundResult;
    if (refund.queryAttempts === 0) result = await send();
    else {
      action = 'refund_query';
      result = await ask(() => gateway.queryRefund({ paymentNo: refund.paymentNo, refundNo: refund.refundNo }), limit);
      if (result.kind === 'not_found') {
        // The gateway never got it (the send was lost): send it again, under the same refund number.
        action = 'refund';
        result = await send();
      }
    }
    const detail = describeRefund(result);
    this.metrics.gatewayAttempt(refund.channel, action, result.kind);
    await inTransaction(this.dataSource, async (manager) => {
      const now = this.clock.now();
      await this.payments.insertAttempt(manager, {
        paymentNo: refund.paymentNo,
        refundNo: refund.refundNo,
        action,
        attempt,
        outcome: result.kind,
        detail: detail.slice(0, 512),
        createdAt: now,
      });
      if (await this.state.settle(refund.refundNo, result, manager)) return;
      const current = await manager
        .getRepository(Refund)
        .createQueryBuilder('r')
        .setLock('pessimistic_write')
        .where('r.id = :id', { id: refund.id })
        .getOneOrFail();
      if (current.status !== 'REFUNDING' || current.queryAttempts !== refund.queryAttempts) return;
      const at = new Date(now.getTime() + queryDelayMs(attempt, this.config.recovery));
      await manager.getRepository(Refund).update(
        { id: refund.id },
        {
          queryAttempts: attempt,
          nextQueryAt: at,
          statusReason: `attempt ${attempt}: ${detail}`.slice(0, 512),
          gatewayRefundNo: ('gatewayRefundNo' in result && result.gatewayRefundNo) || current.gatewayRefundNo,
          updatedAt: now,
        },
      );
      this.scheduler.scheduleRefund(manager, refund.refundNo, attempt, at);
    });
  }
}

function describeRefund(result: RefundResult): string {
  switch (result.kind) {
    case 'succeeded':
      return `refunded (gateway refund ${result.gatewayRefundNo})`;
    case 'processing':
      return 'accepted, in progress at the gateway';
    case 'rejected':
      return `refused: ${result.code} ${result.message}`;
    case 'not_found':
      return 'unknown to the gateway';
    case 'unknown':
      return `no answer: ${result.reason}`;
  }
}
