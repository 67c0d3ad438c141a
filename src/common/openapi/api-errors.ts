import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  type ApiResponseOptions,
  getSchemaPath,
} from '@nestjs/swagger';
import type { DomainErrorCode } from '../errors/domain-error';
import { statusFor } from '../errors/http-error';
import { EXAMPLE } from './examples';

export class FieldProblemResponse {
  @ApiProperty({ description: 'Path of the field, with array indexes.', example: 'items.0.quantity' })
  field: string;

  @ApiProperty({ type: [String], example: ['quantity must not be less than 1'] })
  messages: string[];
}

/** The one error envelope every endpoint answers with (built by toHttpError in common/errors). */
@ApiExtraModels(FieldProblemResponse)
export class ErrorResponse {
  @ApiProperty({
    description:
      'Stable, machine-readable error code: branch on this, never on `message`. Besides the codes listed per ' +
      'operation, framework errors use the HTTP status name (`BAD_REQUEST` for malformed JSON, ' +
      '`PAYLOAD_TOO_LARGE`, `NOT_FOUND` for an unknown route) and an unexpected failure is `INTERNAL_ERROR`.',
    example: 'ORDER_NOT_FOUND',
  })
  code: string;

  @ApiProperty({
    description: 'For people; may change between releases.',
    example: `Order ${EXAMPLE.orderNo} does not exist.`,
  })
  message: string;

  @ApiPropertyOptional({
    description:
      'Extra, safe-to-show data. `VALIDATION_FAILED`: a list of `{ field, messages }`; otherwise an object, ' +
      'e.g. `{ paymentNo }` or `{ refundableFen }`.',
    oneOf: [
      { type: 'array', items: { $ref: getSchemaPath(FieldProblemResponse) } },
      { type: 'object', additionalProperties: true },
    ],
  })
  details?: unknown;
}

/** Codes raised inside the PaymentCenter that no REST operation answers with, and why. */
const INTERNAL = {
  ILLEGAL_TRANSITION:
    'a guard of the payment state machine; the use cases only ask for legal moves, and recovery and callbacks log it',
  GATEWAY_TRADE_NO_CONFLICT:
    'a vendor trade number already recorded for another payment, met while applying a vendor answer; logged for review',
  NOTIFICATION_REJECTED:
    "a vendor callback that fails verification; refused in the vendor's own format (tag `gateway callbacks`)",
} as const satisfies Partial<Record<DomainErrorCode, string>>;

export type InternalErrorCode = keyof typeof INTERNAL;
export type ApiErrorCode = Exclude<DomainErrorCode, InternalErrorCode>;

interface ErrorExample {
  /** When a caller gets it: the description in the document. */
  when: string;
  message: string;
  details?: unknown;
  retryAfterSeconds?: number;
}

/** Every code a caller can get, with an example; a new DomainErrorCode does not compile until it is added here. */
const ANSWERED: Record<ApiErrorCode, ErrorExample> = {
  VALIDATION_FAILED: {
    when: 'bad input; `details` lists `{ field, messages }` per field. Nothing is written.',
    message: 'The request is invalid; see details for each field.',
    details: [{ field: 'items.0.quantity', messages: ['quantity must not be less than 1'] }],
  },
  IDEMPOTENCY_KEY_INVALID: {
    when: '`Idempotency-Key` is not 1-255 printable ASCII characters.',
    message: 'The Idempotency-Key header must be 1 to 255 printable ASCII characters.',
  },
  IDEMPOTENCY_KEY_IN_USE: {
    when: 'the same request is still being processed; retry after `Retry-After` seconds.',
    message: 'A request with the same idempotency key is still being processed; retry later.',
    retryAfterSeconds: 1,
  },
  IDEMPOTENCY_KEY_REUSED: {
    when: 'the key was used before with a different request (method, path or body).',
    message: 'This idempotency key was already used with a different request.',
  },
  ORDER_NOT_FOUND: { when: 'no order has this number.', message: `Order ${EXAMPLE.orderNo} does not exist.` },
  ORDER_ALREADY_PAID: {
    when: 'the order is paid; it cannot be paid again.',
    message: `Order ${EXAMPLE.orderNo} is already paid.`,
  },
  ORDER_CLOSED: {
    when: 'the order is closed: it expired with no payment that can still succeed.',
    message: `Order ${EXAMPLE.orderNo} is closed and can no longer be paid.`,
  },
  ORDER_EXPIRED: {
    when: 'the order is past `expiresAt`; it cannot be paid any more.',
    message: `Order ${EXAMPLE.orderNo} expired at ${EXAMPLE.expiresAt} and can no longer be paid.`,
  },
  PAYMENT_NOT_FOUND: { when: 'no payment has this number.', message: `Payment ${EXAMPLE.paymentNo} does not exist.` },
  PAYMENT_STARTING: {
    when: 'the vendor call for this order and channel is still running; retry after `Retry-After` seconds.',
    message: `Payment ${EXAMPLE.paymentNo} is being created at the gateway; retry shortly to get what the buyer needs.`,
    details: { paymentNo: EXAMPLE.paymentNo },
    retryAfterSeconds: 1,
  },
  BARCODE_IN_PROGRESS: {
    when:
      "a barcode payment of this order is still undecided at the vendor (the buyer's code is being charged or " +
      'reversed): wait for it (`GET /api/payments/{paymentNo}?waitSeconds=N`) before scanning another code.',
    message: `Barcode payment ${EXAMPLE.paymentNo} of order ${EXAMPLE.orderNo} is still undecided.`,
    details: { paymentNo: EXAMPLE.paymentNo },
    retryAfterSeconds: 5,
  },
  BARCODE_UNSUPPORTED: {
    when: "the channel account takes no payment codes (e.g. a WeChat service provider's sub-merchant here).",
    message: 'wechat barcode payments are not supported by this adapter',
  },
  PAY_MODE_UNSUPPORTED: {
    when: 'the channel account does not offer this `mode` (e.g. an in-app payment on a channel or account without it).',
    message: 'alipay in_app payments are not offered by this adapter yet',
  },
  BUYER_IDENTITY_NOT_FOUND: {
    when: "no such buyer-identity request of the caller's application (or it expired: BUYER_IDENTITY_TTL).",
    message: 'Buyer identity bi0123456789abcdef0123456789abcdef not found.',
  },
  BUYER_IDENTITY_UNAVAILABLE: {
    when: "the channel's OAuth is not configured here (WeChat: WECHAT_APP_SECRET), or the channel has none.",
    message: 'unionpay buyer identity is not available on this Payment Center',
  },
  PAYMENT_REQUEST_MISMATCH: {
    when: 'the order was already submitted for payment with another amount or currency.',
    message: `Order ${EXAMPLE.orderNo} was already submitted for payment with a different amount or currency.`,
  },
  CHANNEL_UNAVAILABLE: {
    when: 'the channel is not configured on this Payment Center.',
    message: 'Payment channel "unionpay" is not configured on this Payment Center.',
  },
  GATEWAY_UNAVAILABLE: {
    when:
      'the vendor gave no answer; the payment stays `PAYING` (never `FAILED`) and is checked with the vendor. ' +
      'Retry `pay` to resume it with the same payment number.',
    message:
      `The gateway did not answer for payment ${EXAMPLE.paymentNo} (no answer within 5000 ms). The payment stays ` +
      'open and is checked with the gateway automatically; retry to resume it.',
    details: { paymentNo: EXAMPLE.paymentNo },
    retryAfterSeconds: 2,
  },
  GATEWAY_REJECTED: {
    when: 'the vendor definitely refused; that payment is `FAILED`, paying again starts a new one.',
    message: `The gateway refused payment ${EXAMPLE.paymentNo}: INVALID_REQUEST the merchant is not allowed to trade`,
    details: { paymentNo: EXAMPLE.paymentNo, gatewayCode: 'INVALID_REQUEST' },
  },
  UNAUTHENTICATED: {
    when: 'no bearer token, or one that is not in `ADMIN_TOKENS`.',
    message: 'A valid admin bearer token is required.',
  },
  FORBIDDEN: {
    when: 'the token lacks the scope this endpoint needs.',
    message: 'This token lacks the deliveries:retry scope.',
  },
  APPLICATION_NOT_FOUND: {
    when: 'no application has this id.',
    message: 'Application app_3f9a0c1d2e4b5a6c does not exist.',
  },
  API_KEY_NOT_FOUND: {
    when: 'the application has no key with this id.',
    message: 'Application app_3f9a0c1d2e4b5a6c has no API key ak_1b2c3d4e5f6a7b8c.',
  },
  ACCOUNT_NOT_ALLOWED: {
    when: 'the application is not bound to the channel account it named (`accountId`), or names one on a channel it has no accounts on.',
    message: 'This application cannot pay with wechat account "brand-b-wechat".',
  },
  ACCOUNT_NOT_FOUND: { when: 'no channel account has this id.', message: 'No channel account "brand-b-wechat".' },
  ACCOUNT_REJECTED: {
    when: 'the account material is incomplete or does not parse, the id is taken, or no KEK is configured; each problem names its field.',
    message: 'secrets.apiV3Key: the APIv3 key: exactly 32 characters',
  },
  DELIVERY_NOT_FOUND: { when: 'no delivery has this id.', message: 'Delivery 42 does not exist.' },
  EVENT_NOT_FOUND: {
    when: "no event of the caller's application has this id (another application's events are never shown).",
    message: `Event ${EXAMPLE.eventId} does not exist.`,
  },
  DELIVERY_NOT_RETRYABLE: {
    when: 'only a `FAILED` delivery can be retried.',
    message: 'Delivery 42 is PUBLISHED; only FAILED deliveries can be retried.',
  },
  PARTNER_NOT_FOUND: { when: 'no partner of this name is in PARTNERS.', message: 'Partner erp is not in PARTNERS.' },
  REPLAY_START_NOT_FOUND: {
    when: '`afterEventId` names no event that is still kept (EVENTS_RETENTION).',
    message: 'Event 0b0c2f1e-9d7a-4c55-8f0e-6a1d2b3c4d5e is not kept (never written, or older than EVENTS_RETENTION).',
  },
  REPLAY_TOO_LARGE: {
    when: 'the range holds more than 10000 events the partner takes: replay narrower ranges one after the other.',
    message:
      'The replay matches more than 10000 events (10001 seen); replay a narrower time range, one after the other.',
  },
  REFUND_NOT_FOUND: { when: 'no refund has this number.', message: `Refund ${EXAMPLE.refundNo} does not exist.` },
  PAYMENT_NOT_REFUNDABLE: {
    when: 'only a `PAID` payment can be refunded.',
    message: `Payment ${EXAMPLE.paymentNo} is PAYING; only a PAID payment can be refunded.`,
    details: { paymentNo: EXAMPLE.paymentNo, status: 'PAYING' },
  },
  REFUND_EXCEEDS_PAID: {
    when: 'more than what is left to refund (paid minus refunded or refunding); see `details.refundableFen`.',
    message: `Payment ${EXAMPLE.paymentNo} has 1500 fen left to refund; 2000 fen was asked for.`,
    details: { paymentNo: EXAMPLE.paymentNo, requestedFen: 2000, refundableFen: 1500 },
  },
  RECONCILIATION_NOT_FOUND: {
    when: 'no reconciliation run has this id.',
    message: 'Reconciliation run 17 does not exist.',
  },
  SYNC_TOO_SOON: {
    when: 'the vendor was asked about this payment or refund less than PAYMENT_SYNC_INTERVAL ago (`Retry-After`).',
    message: `Payment ${EXAMPLE.paymentNo} was synced with the gateway less than 10 s ago; retry in 10 s.`,
    details: { id: EXAMPLE.paymentNo },
  },
  REFUND_NOT_IN_REVIEW: {
    when: 'only a `NEEDS_REVIEW` refund can be resolved.',
    message: `Refund ${EXAMPLE.refundNo} is REFUNDED; only a NEEDS_REVIEW refund can be resolved.`,
    details: { refundNo: EXAMPLE.refundNo, status: 'REFUNDED' },
  },
  PAYMENT_NOT_IN_REVIEW: {
    when: 'only a `NEEDS_REVIEW` payment can be resolved.',
    message: `Payment ${EXAMPLE.paymentNo} is PAID; only a NEEDS_REVIEW payment can be resolved.`,
    details: { paymentNo: EXAMPLE.paymentNo, status: 'PAID' },
  },
};

/** For the document's description: the codes that exist but are never answered, and why. */
export function internalErrorCodesMarkdown(): string {
  return Object.entries(INTERNAL)
    .map(([code, why]) => `- \`${code}\`: ${why}.`)
    .join('\n');
}

export function errorExample(code: ApiErrorCode): { code: ApiErrorCode; message: string; details?: unknown } {
  const { message, details } = ANSWERED[code];
  return details === undefined ? { code, message } : { code, message, details };
}

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', example: 1 } },
};

/** One documented response per HTTP status, with an example per code (what the test reads back). */
function errorResponse(status: number, entries: { code: ApiErrorCode; when: string }[]): MethodDecorator {
  const options: ApiResponseOptions = {
    status,
    type: ErrorResponse,
    description: entries.map(({ code, when }) => `\`${code}\`: ${when}`).join('\n\n'),
    examples: Object.fromEntries(entries.map(({ code, when }) => [code, { summary: when, value: errorExample(code) }])),
    ...(entries.some(({ code }) => ANSWERED[code].retryAfterSeconds !== undefined) ? { headers: RETRY_AFTER } : {}),
  };
  return ApiResponse(options);
}

/**
 * Documents the error codes an operation can answer, grouped by their HTTP status (statusFor, the same
 * mapping the exception filter uses). Applying it twice on one operation adds to the same statuses.
 */
export function ApiErrors(...codes: ApiErrorCode[]): MethodDecorator {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of new Set(codes)) byStatus.set(statusFor(code), [...(byStatus.get(statusFor(code)) ?? []), code]);
  return applyDecorators(
    ...[...byStatus].map(([status, group]) =>
      errorResponse(
        status,
        group.map((code) => ({ code, when: ANSWERED[code].when })),
      ),
    ),
  );
}

/** UNAUTHENTICATED and FORBIDDEN of a business endpoint (an application's API key with `scope`). */
export function ApiKeyErrors(scope: string): MethodDecorator {
  return applyDecorators(
    ApiResponse({
      status: statusFor('UNAUTHENTICATED'),
      type: ErrorResponse,
      description:
        '`UNAUTHENTICATED`: no `Authorization: Bearer <secret>`, or a secret that is unknown, revoked, expired or ' +
        'of a disabled application. Nothing was read or written.',
      example: { code: 'UNAUTHENTICATED', message: 'A valid API key is required (Authorization: Bearer <secret>).' },
    }),
    ApiResponse({
      status: statusFor('FORBIDDEN'),
      type: ErrorResponse,
      description: `\`FORBIDDEN\`: the key lacks the \`${scope}\` scope. Nothing was read or written.`,
      example: { code: 'FORBIDDEN', message: `This API key lacks the ${scope} scope.` },
    }),
  );
}

/** FORBIDDEN with the scope named, for admin endpoints. */
export function ApiForbiddenWithoutScope(scope: string): MethodDecorator {
  return errorResponse(statusFor('FORBIDDEN'), [
    { code: 'FORBIDDEN', when: `the token lacks the \`${scope}\` scope.` },
  ]);
}

/** The global 500: the filter's answer to anything unexpected (nothing was lost; retrying is safe). */
export const INTERNAL_ERROR_RESPONSE: ApiResponseOptions = {
  status: 500,
  type: ErrorResponse,
  description: '`INTERNAL_ERROR`: an unexpected failure (a database outage, say); nothing was lost, retry the request.',
  example: { code: 'INTERNAL_ERROR', message: 'Internal error; nothing was lost, retry the request.' },
};
