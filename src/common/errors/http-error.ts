import { HttpException, HttpStatus } from '@nestjs/common';
import { DomainError, type DomainErrorCode } from './domain-error';

export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export interface HttpError {
  status: number;
  body: ErrorBody | Record<string, unknown>;
  headers: Record<string, string>;
}

/** The HTTP status of each error code (also what the OpenAPI document lists per operation). */
export function statusFor(code: DomainErrorCode): number {
  switch (code) {
    case 'VALIDATION_FAILED':
    case 'IDEMPOTENCY_KEY_INVALID':
    case 'NOTIFICATION_REJECTED':
    case 'ACCOUNT_NOT_ALLOWED':
    case 'ACCOUNT_REJECTED':
      return HttpStatus.BAD_REQUEST;
    case 'UNAUTHENTICATED':
      return HttpStatus.UNAUTHORIZED;
    case 'FORBIDDEN':
      return HttpStatus.FORBIDDEN;
    case 'ORDER_NOT_FOUND':
    case 'PAYMENT_NOT_FOUND':
    case 'DELIVERY_NOT_FOUND':
    case 'EVENT_NOT_FOUND':
    case 'REFUND_NOT_FOUND':
    case 'RECONCILIATION_NOT_FOUND':
    case 'APPLICATION_NOT_FOUND':
    case 'API_KEY_NOT_FOUND':
    case 'ACCOUNT_NOT_FOUND':
    case 'BUYER_IDENTITY_NOT_FOUND':
    case 'PARTNER_NOT_FOUND':
    case 'REPLAY_START_NOT_FOUND':
      return HttpStatus.NOT_FOUND;
    case 'ORDER_ALREADY_PAID':
    case 'ORDER_CLOSED':
    case 'ORDER_EXPIRED':
    case 'PAYMENT_STARTING':
    case 'BARCODE_IN_PROGRESS':
    case 'PAYMENT_REQUEST_MISMATCH':
    case 'ILLEGAL_TRANSITION':
    case 'IDEMPOTENCY_KEY_IN_USE':
    case 'DELIVERY_NOT_RETRYABLE':
    case 'GATEWAY_TRADE_NO_CONFLICT':
    case 'PAYMENT_NOT_REFUNDABLE':
    case 'PAYMENT_NOT_IN_REVIEW':
    case 'REFUND_NOT_IN_REVIEW':
      return HttpStatus.CONFLICT;
    case 'IDEMPOTENCY_KEY_REUSED':
    case 'REFUND_EXCEEDS_PAID':
    case 'BARCODE_UNSUPPORTED':
    case 'PAY_MODE_UNSUPPORTED':
    case 'BUYER_IDENTITY_UNAVAILABLE':
    case 'REPLAY_TOO_LARGE':
      return HttpStatus.UNPROCESSABLE_ENTITY;
    case 'SYNC_TOO_SOON':
      return HttpStatus.TOO_MANY_REQUESTS;
    case 'GATEWAY_REJECTED':
      return HttpStatus.BAD_GATEWAY;
    case 'CHANNEL_UNAVAILABLE':
    case 'GATEWAY_UNAVAILABLE':
      return HttpStatus.SERVICE_UNAVAILABLE;
  }
}

/**
 * The one mapping from anything thrown to an HTTP answer. Used by the exception filter and by the
 * duplicate-submission guard (which must know the final status to store or release a key).
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof DomainError) {
    const headers: Record<string, string> = {};
    if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
    const body: ErrorBody = { code: error.code, message: error.message };
    if (error.details !== undefined) body.details = error.details;
    return { status: statusFor(error.code), body, headers };
  }
  if (error instanceof HttpException) {
    // Framework errors: unknown route (404), malformed JSON (400), payload too large (413)...
    const status = error.getStatus();
    const response = error.getResponse();
    if (typeof response === 'object' && response !== null && !('message' in response)) {
      // A body a library built on purpose (the health check's report): pass it through unchanged.
      return { status, body: { ...response }, headers: {} };
    }
    const message =
      typeof response === 'object' && response !== null && 'message' in response
        ? String(response.message)
        : error.message;
    return { status, body: { code: HttpStatus[status] ?? 'HTTP_ERROR', message }, headers: {} };
  }
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    body: { code: 'INTERNAL_ERROR', message: 'Internal error; nothing was lost, retry the request.' },
    headers: {},
  };
}
