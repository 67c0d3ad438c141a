import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { withLogContext } from '../../common/logging/log-context';
import { AppConfig } from '../../config/app-config';
import { inTransaction } from '../../database/transaction';
import { GatewayRegistry } from '../../gateways/gateway-registry';
import { MetricsService } from '../../metrics/metrics.service';
import type { RefundResult } from '../../gateways/gateway.types';
import type { PaymentAttempt } from '../payment.entity';
import { PaymentsRepository } from '../payments.repository';
import { ask } from '../recovery/ask-gateway';
import { RecoveryEngine } from '../recovery/recovery-engine';
import type { DueClaim, OneClaim, RecoveryHandler } from '../recovery/recovery-handler';
import { refundQueryAt, refundReviewDue } from '../recovery/recovery-schedule';
import type { Refund } from './refund.entity';
import { RefundStateService } from './refund-state.service';
import { RefundsRepository } from './refunds.repository';

/**
 * The recovery engine's refund work: the first attempt sends the refund, later ones ask the gateway about
 * it (and send it again, under the same refund number, if the gateway never saw it), until a definite
 * answer settles it through the refund state service.
 */
@Injectable()
export class RefundRecovery implements RecoveryHandler<Refund>, OnModuleInit {
  readonly kind = 'refund';
  readonly statuses = ['REFUNDING'] as const;
  private readonly logger = new Logger(RefundRecovery.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(RecoveryEngine) private readonly engine: RecoveryEngine,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(RefundsRepository) private readonly refunds: RefundsRepository,
    @Inject(RefundStateService) private readonly state: RefundStateService,
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.engine.register(this);
  }

  claimDue(manager: EntityManager, claim: DueClaim): Promise<Refund[]> {
    return this.refunds.claimDueSkippingLocked(manager, claim);
  }

  claimOne(manager: EntityManager, refundNo: string, claim: OneClaim): Promise<Refund | undefined> {
    return this.refunds.claimOneSkippingLocked(manager, refundNo, claim);
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
    // The payment's account, whatever its status now (a disabled account's refunds still go through).
    const gateway = () => this.gateways.forAccount(refund.channel, payment.accountId);
    const limit = this.config.gateways.timeoutMs + 1000;
    const send = () =>
      ask<RefundResult>(
        async () =>
          (await gateway()).refund({
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
      result = await ask(
        async () => (await gateway()).queryRefund({ paymentNo: refund.paymentNo, refundNo: refund.refundNo }),
        limit,
      );
      if (result.kind === 'not_found') {
        // The gateway never got it (the send was lost): send it again, under the same refund number.
        action = 'refund';
        result = await send();
      }
    }
    const detail = describeRefund(result);
    this.metrics.gatewayAttempt(refund.channel, refund.accountId, action, result.kind);
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
      const current = await this.refunds.lockById(manager, refund.id);
      if (!current) throw new Error(`refund ${refund.refundNo} vanished while it was being asked about`);
      // Moved on while we asked (a notification, an operator): its new state decides what is next.
      if (current.status !== 'REFUNDING' || current.queryAttempts !== refund.queryAttempts) return;
      if (refundReviewDue(now, current.retriedAt ?? current.createdAt, this.config.recovery)) {
        const reason = `no definite answer from the gateway ${attempt} attempts after the refund was made (last: ${detail})`;
        await this.state.requireReview(manager, refund.refundNo, reason);
        return;
      }
      const at = refundQueryAt(now, attempt, this.config.recovery);
      await this.refunds.rescheduleQuery(manager, refund.id, {
        queryAttempts: attempt,
        nextQueryAt: at,
        statusReason: `attempt ${attempt}: ${detail}`.slice(0, 512),
        gatewayRefundNo: ('gatewayRefundNo' in result && result.gatewayRefundNo) || current.gatewayRefundNo,
        updatedAt: now,
      });
    });
  }
}

/** A gateway's refund answer in one line (attempt rows, status reasons, operators' answers). */
export function describeRefund(result: RefundResult): string {
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
