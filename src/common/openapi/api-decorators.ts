import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiHeader, type ApiResponseOptions } from '@nestjs/swagger';
import type { AdminScope } from '../../config/environment';
import { ApiErrors, ApiForbiddenWithoutScope } from './api-errors';

/** Operation groups of the document (described in openapi.ts). */
export const TAGS = {
  orders: 'orders',
  payments: 'payments',
  refunds: 'refunds',
  buyers: 'buyer identity',
  events: 'events',
  callbacks: 'gateway callbacks',
  deliveries: 'admin: deliveries',
  reconciliation: 'admin: reconciliation',
  review: 'admin: payments',
  applications: 'admin: applications',
  accounts: 'admin: channel accounts',
  session: 'admin: session',
  health: 'health',
} as const;

/** The security scheme name of admin bearer tokens in the document. */
export const ADMIN_BEARER = 'admin';

/** The security scheme name of applications' API keys in the document. */
export const API_KEY_BEARER = 'apiKey';

/** The vendor extension naming the scope an admin operation needs (the test checks it against the guard). */
export const REQUIRED_SCOPE_EXTENSION = 'x-required-scope';

/**
 * The duplicate-submission guard on a write endpoint (src/idempotency): the optional Idempotency-Key
 * header and the three answers the guard itself can give.
 */
export function ApiIdempotencyKey(): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes retries safe: use a new UUID per purchase attempt and send it again on every retry. Scoped to the ' +
        'caller and remembered for `IDEMPOTENCY_KEY_TTL_SECONDS` (24 h by default). A duplicate sent while the ' +
        'first request runs gets `409 IDEMPOTENCY_KEY_IN_USE` with `Retry-After`; after the first succeeded, the ' +
        'first response is replayed (same status and body) with `Idempotent-Replayed: true`; the same key with ' +
        'another request is `422 IDEMPOTENCY_KEY_REUSED`. A first request that fails releases the key. Without ' +
        'the header the key is a hash of method, path and body, remembered for `IDEMPOTENCY_DERIVED_TTL_SECONDS` ' +
        '(10 s), which catches double clicks.',
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' },
      example: '3f0c8a52-4d1e-4b8a-9f6e-2a7c1d9b5e40',
    }),
    ApiErrors('IDEMPOTENCY_KEY_INVALID', 'IDEMPOTENCY_KEY_IN_USE', 'IDEMPOTENCY_KEY_REUSED'),
  );
}

/** Response headers of the success response of a write endpoint guarded by ApiIdempotencyKey. */
export const REPLAYED_HEADERS: ApiResponseOptions['headers'] = {
  'Idempotent-Replayed': {
    description: 'Present (`true`) when this is the stored answer to an earlier, identical request.',
    schema: { type: 'string', enum: ['true'] },
  },
};

/** An admin endpoint: bearer token from `ADMIN_TOKENS` with the given scope (see RequireScope). */
export function ApiAdminScope(scope: AdminScope): MethodDecorator {
  return applyDecorators(
    ApiBearerAuth(ADMIN_BEARER),
    ApiExtension(REQUIRED_SCOPE_EXTENSION, scope),
    ApiErrors('UNAUTHENTICATED'),
    ApiForbiddenWithoutScope(scope),
  );
}
