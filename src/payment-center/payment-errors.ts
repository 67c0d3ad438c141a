import { DomainError } from '../common/errors/domain-error';

export class PaymentNotFound extends DomainError {
  readonly code = 'PAYMENT_NOT_FOUND';
  constructor(paymentNo: string) {
    super(`Payment ${paymentNo} does not exist.`);
  }
}

export class PaymentAlreadyPaid extends DomainError {
  readonly code = 'ORDER_ALREADY_PAID';
  constructor(orderNo: string, paymentNo: string) {
    super(`Order ${orderNo} is already paid (payment ${paymentNo}).`, { details: { paymentNo } });
  }
}

export class PaymentRequestExpired extends DomainError {
  readonly code = 'ORDER_EXPIRED';
  constructor(orderNo: string) {
    super(`Order ${orderNo} has expired and can no longer be paid.`);
  }
}

export class BarcodeInProgress extends DomainError {
  readonly code = 'BARCODE_IN_PROGRESS';
  constructor(orderNo: string, paymentNo: string) {
    super(`Barcode payment ${paymentNo} of order ${orderNo} is still undecided.`, {
      details: { paymentNo },
      retryAfterSeconds: 5,
    });
  }
}

export class BarcodeUnsupported extends DomainError {
  readonly code = 'BARCODE_UNSUPPORTED';
  constructor(reason: string) {
    super(reason);
  }
}

export class PayModeUnsupported extends DomainError {
  readonly code = 'PAY_MODE_UNSUPPORTED';
  constructor(reason: string) {
    super(reason);
  }
}

export class PaymentRequestMismatch extends DomainError {
  readonly code = 'PAYMENT_REQUEST_MISMATCH';
  constructor(orderNo: string) {
    super(`Order ${orderNo} was already submitted for payment with a different amount or currency.`);
  }
}

export class PaymentStarting extends DomainError {
  readonly code = 'PAYMENT_STARTING';
  constructor(paymentNo: string) {
    super(`Payment ${paymentNo} is being created at the gateway; retry shortly to get what the buyer needs.`, {
      retryAfterSeconds: 1,
      details: { paymentNo },
    });
  }
}

export class GatewayUnavailable extends DomainError {
  readonly code = 'GATEWAY_UNAVAILABLE';
  constructor(paymentNo: string, reason: string) {
    super(
      `The gateway did not answer for payment ${paymentNo} (${reason}). The payment stays open and is checked ` +
        `with the gateway automatically; retry to resume it.`,
      { retryAfterSeconds: 2, details: { paymentNo } },
    );
  }
}

export class GatewayRejected extends DomainError {
  readonly code = 'GATEWAY_REJECTED';
  constructor(paymentNo: string, vendorCode: string, vendorMessage: string) {
    super(`The gateway refused payment ${paymentNo}: ${vendorCode} ${vendorMessage}`, {
      details: { paymentNo, gatewayCode: vendorCode },
    });
  }
}

export class IllegalTransition extends DomainError {
  readonly code = 'ILLEGAL_TRANSITION';
  constructor(paymentNo: string, from: string, event: string) {
    super(`Payment ${paymentNo} cannot take ${event} in status ${from}.`);
  }
}

export class GatewayTradeNoConflict extends DomainError {
  readonly code = 'GATEWAY_TRADE_NO_CONFLICT';
  constructor(paymentNo: string, gatewayTradeNo: string) {
    super(
      `Gateway trade ${gatewayTradeNo} is already recorded for another payment; payment ${paymentNo} was not changed.`,
    );
  }
}

export class RefundNotFound extends DomainError {
  readonly code = 'REFUND_NOT_FOUND';
  constructor(refundNo: string) {
    super(`Refund ${refundNo} does not exist.`);
  }
}

export class RefundNotInReview extends DomainError {
  readonly code = 'REFUND_NOT_IN_REVIEW';
  constructor(refundNo: string, status: string) {
    super(`Refund ${refundNo} is ${status}; only a NEEDS_REVIEW refund can be resolved.`, {
      details: { refundNo, status },
    });
  }
}

export class PaymentNotRefundable extends DomainError {
  readonly code = 'PAYMENT_NOT_REFUNDABLE';
  constructor(paymentNo: string, status: string) {
    super(`Payment ${paymentNo} is ${status}; only a PAID payment can be refunded.`, {
      details: { paymentNo, status },
    });
  }
}

export class RefundExceedsPaid extends DomainError {
  readonly code = 'REFUND_EXCEEDS_PAID';
  constructor(paymentNo: string, requestedFen: number, refundableFen: number) {
    super(`Payment ${paymentNo} has ${refundableFen} fen left to refund; ${requestedFen} fen was asked for.`, {
      details: { paymentNo, requestedFen, refundableFen },
    });
  }
}
