import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { inTransaction } from '../../database/transaction';
import { GatewayRegistry } from '../../gateways/gateway-registry';
import type { Channel, RefundResult } from '../../gateways/gateway.types';
import { RefundNotFound, RefundNotInReview } from '../payment-errors';
import { PaymentsRepository } from '../payments.repository';
import { ask } from '../recovery/ask-gateway';
import { type Refund, type RefundStatus, type RefundView, toRefundView } from '../refunds/refund.entity';
import { describeRefund } from '../refunds/refund-recovery.handler';
import { RefundStateService } from '../refunds/refund-state.service';
import { RefundsRepository } from '../refunds/refunds.repository';

/**
 * What an operator may do with a refund in review: `requery` (ask the vendor now and apply its definite
 * answer), `succeeded` (the operator read the refund at the vendor: its refund id is the evidence, kept
 * with the refund and in the audit), `retry` (send it again under the same refund number).
 */
export const REFUND_RESOLUTIONS = ['requery', 'succeeded', 'retry'] as const;
export type RefundResolution = (typeof REFUND_RESOLUTIONS)[number];

export interface RefundOperator {
  actor: string;
  note: string;
  /** `succeeded`: the vendor's refund id the operator read. */
  gatewayRefundNo?: string;
  /** Records the resolution inside the transaction that applies it (the admin audit). */
  audit?: (
    manager: EntityManager,
    what: { status: RefundStatus; gatewayAnswer: string; changed: boolean },
  ) => Promise<void>;
}

/** A refund with the gateway calls made about it: what an operator reads before deciding. */
export interface ReviewRefundView extends RefundView {
  accountId: string;
  attempts: { action: string; attempt: number; outcome: string; detail: string | null; at: string }[];
}

export interface RefundResolutionResult {
  action: RefundResolution;
  /** The vendor's answer in one line (requery), or what the operator did. */
  gatewayAnswer: string;
  /** Whether the refund left NEEDS_REVIEW. */
  changed: boolean;
  status: RefundStatus;
  refund: ReviewRefundView;
}

/**
 * Refunds that need an operator: the list with each refund's gateway calls, and the three resolutions. Every
 * change goes through RefundStateService (the payment's and the refund's row locks, the partner event).
 */
@Injectable()
export class RefundReview {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(RefundsRepository) private readonly refunds: RefundsRepository,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(RefundStateService) private readonly state: RefundStateService,
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async list(filter: { status?: RefundStatus; channel?: Channel; limit?: number }): Promise<ReviewRefundView[]> {
    const found = await this.refunds.findByStatus(filter.status ?? 'NEEDS_REVIEW', filter.limit ?? 50, filter.channel);
    return Promise.all(found.map((refund) => this.viewOf(refund)));
  }

  async resolve(refundNo: string, action: RefundResolution, by: RefundOperator): Promise<RefundResolutionResult> {
    const refund = await this.refunds.findByRefundNo(refundNo);
    if (!refund) throw new RefundNotFound(refundNo);
    if (refund.status !== 'NEEDS_REVIEW') throw new RefundNotInReview(refundNo, refund.status);
    let outcome: Parameters<RefundStateService['resolveReview']>[2] | undefined;
    let answer: string;
    let result: RefundResult | undefined;
    switch (action) {
      case 'requery': {
        const payment = await this.payments.findByPaymentNo(refund.paymentNo);
        if (!payment) throw new RefundNotFound(refundNo);
        result = await ask(
          async () =>
            (await this.gateways.forAccount(refund.channel, payment.accountId)).queryRefund({
              paymentNo: refund.paymentNo,
              refundNo,
            }),
          this.config.gateways.timeoutMs + 1000,
        );
        answer = describeRefund(result);
        if (result.kind === 'succeeded' || result.kind === 'rejected') outcome = result;
        break;
      }
      case 'succeeded':
        answer = `marked refunded by operator ${by.actor}: gateway refund ${by.gatewayRefundNo ?? ''}`;
        outcome = { kind: 'succeeded', gatewayRefundNo: by.gatewayRefundNo ?? '' };
        break;
      case 'retry':
        answer = `sent again by operator ${by.actor}`;
        outcome = { kind: 'retry' };
        break;
    }
    const resolved = await inTransaction(this.dataSource, async (manager) => {
      if (result) {
        const earlier = await this.payments.countAttempts(manager, refund.paymentNo, 'review_query');
        await this.payments.insertAttempt(manager, {
          paymentNo: refund.paymentNo,
          refundNo,
          action: 'review_query',
          attempt: earlier + 1,
          outcome: result.kind,
          detail: `operator ${by.actor} (${by.note}): ${answer}`.slice(0, 512),
          createdAt: this.clock.now(),
        });
      }
      const applied = outcome ? await this.state.resolveReview(manager, refundNo, outcome) : undefined;
      const status = applied?.refund.status ?? 'NEEDS_REVIEW';
      const changed = applied?.changed ?? false;
      await by.audit?.(manager, { status, gatewayAnswer: answer, changed });
      // The row as the resolution left it (read under its lock), or as it was when nothing changed it.
      return { status, changed, current: applied?.refund ?? refund };
    });
    const { current, ...outcomeOf } = resolved;
    return { action, gatewayAnswer: answer, ...outcomeOf, refund: await this.viewOf(current) };
  }

  private async viewOf(refund: Refund): Promise<ReviewRefundView> {
    const attempts = await this.payments.attemptsOfRefund(refund.refundNo);
    return {
      ...toRefundView(refund),
      accountId: refund.accountId,
      attempts: attempts.map((a) => ({
        action: a.action,
        attempt: a.attempt,
        outcome: a.outcome,
        detail: a.detail,
        at: a.createdAt.toISOString(),
      })),
    };
  }
}
