import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import {
  type Operator,
  PaymentReview,
  type Resolution,
  type ResolutionResult,
} from '../payment-center/review/payment-review.service';
import { AdminAuditLog } from './auth/admin-audit-log';

/**
 * Resolutions of payments in review, with the audit: every resolution is recorded with the operator, the
 * reason and where the payment went, in the transaction that applies it (so a resolution that rolls back
 * leaves no audit row, and one that commits always has one); a refused one (not in review, unknown payment)
 * is recorded on its own.
 */
@Injectable()
export class AdminPaymentsService {
  constructor(
    @Inject(PaymentReview) private readonly review: PaymentReview,
    @Inject(AdminAuditLog) private readonly audit: AdminAuditLog,
  ) {}

  async resolve(paymentNo: string, action: Resolution, operator: Operator): Promise<ResolutionResult> {
    const by: Operator = {
      ...operator,
      audit: (manager, { status, gatewayAnswer, changed }) =>
        this.audit.record(
          operator.actor,
          `payment.resolve.${action}`,
          { paymentNo, reason: operator.note, status, gatewayAnswer },
          changed ? 1 : 0,
          manager,
        ),
    };
    try {
      return await this.run(paymentNo, action, by);
    } catch (error) {
      if (error instanceof DomainError) {
        await this.audit.record(
          by.actor,
          'payment.resolve.refused',
          { paymentNo, action, reason: by.note, code: error.code },
          0,
        );
      }
      throw error;
    }
  }

  private run(paymentNo: string, action: Resolution, by: Operator): Promise<ResolutionResult> {
    switch (action) {
      case 'requery':
        return this.review.requery(paymentNo, by);
      case 'close':
        return this.review.close(paymentNo, by);
    }
  }
}
