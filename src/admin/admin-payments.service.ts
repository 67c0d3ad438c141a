import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import {
  type Operator,
  PaymentReview,
  type Resolution,
  type ResolutionResult,
} from '../payment-center/review/payment-review';
import { AdminAuditLog } from './admin-audit';

/**
 * Resolutions of payments in review, with the audit: every resolution is logged with the operator, the
 * reason, and where the payment ended up, and so is a refused one (not in review, unknown payment).
 */
@Injectable()
export class AdminPaymentsService {
  constructor(
    @Inject(PaymentReview) private readonly review: PaymentReview,
    @Inject(AdminAuditLog) private readonly audit: AdminAuditLog,
  ) {}

  async resolve(paymentNo: string, action: Resolution, by: Operator): Promise<ResolutionResult> {
    let result: ResolutionResult;
    try {
      result = await this.run(paymentNo, action, by);
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
    await this.audit.record(
      by.actor,
      `payment.resolve.${action}`,
      { paymentNo, reason: by.note, status: result.status, gatewayAnswer: result.gatewayAnswer },
      result.changed ? 1 : 0,
    );
    return result;
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
