import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import {
  type RefundOperator,
  type RefundResolution,
  type RefundResolutionResult,
  RefundReview,
} from '../payment-center/review/refund-review.service';
import { AdminAuditLog } from './auth/admin-audit-log';

/**
 * Resolutions of refunds in review, with the audit: recorded with the operator, the reason, the vendor refund
 * id an operator gave and where the refund went, in the transaction that applies it; a refused one on its own.
 */
@Injectable()
export class AdminRefundsService {
  constructor(
    @Inject(RefundReview) private readonly review: RefundReview,
    @Inject(AdminAuditLog) private readonly audit: AdminAuditLog,
  ) {}

  async resolve(refundNo: string, action: RefundResolution, operator: RefundOperator): Promise<RefundResolutionResult> {
    const { gatewayRefundNo } = operator;
    try {
      return await this.review.resolve(refundNo, action, {
        ...operator,
        audit: (manager, { status, gatewayAnswer, changed }) =>
          this.audit.record(
            operator.actor,
            `refund.resolve.${action}`,
            { refundNo, reason: operator.note, gatewayRefundNo, status, gatewayAnswer },
            changed ? 1 : 0,
            manager,
          ),
      });
    } catch (error) {
      if (error instanceof DomainError) {
        await this.audit.record(
          operator.actor,
          'refund.resolve.refused',
          { refundNo, action, reason: operator.note, code: error.code },
          0,
        );
      }
      throw error;
    }
  }
}
