import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { inTransaction } from '../../database/transaction';
import type { RefundResult } from '../../gateways/gateway.types';
import { RefundNotFound } from '../payment-errors';
import { PaymentStateService } from '../payment-state.service';
import { PaymentsRepository } from '../payments.repository';
import type { Refund } from './refund.entity';
import { RefundsRepository } from './refunds.repository';

/**
 * The one function that settles a refund: a definite gateway answer (from the send, a query or a
 * notification) moves REFUNDING to REFUNDED or REFUND_FAILED under the payment's and the refund's row
 * locks (in that order, like every writer of refunds), bumps the payment's version and writes the partner
 * event in the same transaction. A repeated answer changes nothing; "succeeded" wins over an earlier
 * failure (money that moved is a fact), a failure never undoes a success.
 */
@Injectable()
export class RefundStateService {
  private readonly logger = new Logger(RefundStateService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PaymentsRepository) private readonly payments: PaymentsRepository,
    @Inject(RefundsRepository) private readonly refunds: RefundsRepository,
    @Inject(PaymentStateService) private readonly paymentState: PaymentStateService,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async settle(refundNo: string, result: RefundResult, manager?: EntityManager): Promise<boolean> {
    if (manager) return this.settleLocked(manager, refundNo, result);
    const changed = await inTransaction(this.dataSource, (m) => this.settleLocked(m, refundNo, result));
    if (changed) this.paymentState.notifyCommitted();
    return changed;
  }

  private async settleLocked(manager: EntityManager, refundNo: string, result: RefundResult): Promise<boolean> {
    const known = await this.refunds.findByRefundNo(refundNo, manager);
    if (!known) throw new RefundNotFound(refundNo);
    const payment = await this.payments.lockByPaymentNo(manager, known.paymentNo);
    const refund = await this.refunds.lockByRefundNo(manager, refundNo);
    if (!payment || !refund) throw new RefundNotFound(refundNo);
    const now = this.clock.now();
    let type: 'payment.refunded' | 'payment.refund_failed';
    switch (result.kind) {
      case 'succeeded':
        if (refund.status === 'REFUNDED') return false;
        refund.status = 'REFUNDED';
        refund.gatewayRefundNo = result.gatewayRefundNo || refund.gatewayRefundNo;
        refund.refundedAt = now;
        refund.statusReason = null;
        type = 'payment.refunded';
        break;
      case 'rejected':
        if (refund.status !== 'REFUNDING') {
          if (refund.status === 'REFUNDED') this.logger.warn(`refund ${refundNo}: a failure reported after success`);
          return false;
        }
        refund.status = 'REFUND_FAILED';
        refund.statusReason = `${result.code}: ${result.message}`.slice(0, 512);
        type = 'payment.refund_failed';
        break;
      case 'processing':
      case 'not_found':
      case 'unknown':
        return false;
    }
    refund.nextQueryAt = null;
    refund.version += 1;
    refund.updatedAt = now;
    await this.refunds.save(manager, refund);
    payment.version += 1;
    payment.updatedAt = now;
    await this.payments.save(manager, payment);
    await this.paymentState.appendEvent(manager, payment, type, now, refund);
    return true;
  }
}

export type { Refund };
