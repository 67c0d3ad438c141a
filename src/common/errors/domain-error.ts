/**
 * Every error a caller can cause or must react to. The HTTP status for each code lives in one place,
 * the exception filter; the switch there is exhaustive over this union.
 */
export type DomainErrorCode =
  | 'VALIDATION_FAILED'
  | 'ORDER_NOT_FOUND'
  | 'ORDER_ALREADY_PAID'
  | 'ORDER_CLOSED'
  | 'ORDER_EXPIRED'
  | 'PAYMENT_NOT_FOUND'
  | 'PAYMENT_STARTING'
  | 'BARCODE_IN_PROGRESS'
  | 'BARCODE_UNSUPPORTED'
  | 'PAY_MODE_UNSUPPORTED'
  | 'BUYER_IDENTITY_NOT_FOUND'
  | 'BUYER_IDENTITY_UNAVAILABLE'
  | 'PAYMENT_REQUEST_MISMATCH'
  | 'CHANNEL_UNAVAILABLE'
  | 'GATEWAY_UNAVAILABLE'
  | 'GATEWAY_REJECTED'
  | 'ILLEGAL_TRANSITION'
  | 'IDEMPOTENCY_KEY_IN_USE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'IDEMPOTENCY_KEY_INVALID'
  | 'GATEWAY_TRADE_NO_CONFLICT'
  | 'NOTIFICATION_REJECTED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'DELIVERY_NOT_FOUND'
  | 'EVENT_NOT_FOUND'
  | 'DELIVERY_NOT_RETRYABLE'
  | 'PARTNER_NOT_FOUND'
  | 'REPLAY_START_NOT_FOUND'
  | 'REPLAY_TOO_LARGE'
  | 'REFUND_NOT_FOUND'
  | 'PAYMENT_NOT_REFUNDABLE'
  | 'REFUND_EXCEEDS_PAID'
  | 'RECONCILIATION_NOT_FOUND'
  | 'PAYMENT_NOT_IN_REVIEW'
  | 'REFUND_NOT_IN_REVIEW'
  | 'SYNC_TOO_SOON'
  | 'APPLICATION_NOT_FOUND'
  | 'API_KEY_NOT_FOUND'
  | 'ACCOUNT_NOT_ALLOWED'
  | 'ACCOUNT_NOT_FOUND'
  | 'ACCOUNT_REJECTED';

export interface FieldProblem {
  field: string;
  messages: string[];
}

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  /** Extra, safe-to-show data for the response body (never secrets). */
  readonly details?: unknown;
  /** Seconds a client should wait before retrying, when retrying can help. */
  readonly retryAfterSeconds?: number;

  protected constructor(message: string, options: { details?: unknown; retryAfterSeconds?: number } = {}) {
    super(message);
    this.name = new.target.name;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export class RequestValidationFailed extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  constructor(problems: FieldProblem[]) {
    super('The request is invalid; see details for each field.', { details: problems });
  }
}

export class IdempotencyKeyInUse extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_IN_USE';
  constructor(retryAfterSeconds: number) {
    super('A request with the same idempotency key is still being processed; retry later.', { retryAfterSeconds });
  }
}

export class IdempotencyKeyReused extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor() {
    super('This idempotency key was already used with a different request.');
  }
}

export class IdempotencyKeyInvalid extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_INVALID';
  constructor() {
    super('The Idempotency-Key header must be 1 to 255 printable ASCII characters.');
  }
}
