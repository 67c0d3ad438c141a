import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';

/** What the duplicate-submission guard worked out for one write request. */
export interface IdempotencyContext {
  /** Storage key: sha256 of caller + client key (explicit) or of caller + method + path + body (derived). */
  readonly key: string;
  /** sha256 of method + path + canonical body: the same key with another request is refused. */
  readonly requestHash: string;
  readonly explicit: boolean;
  /** How long a completed request is remembered. */
  readonly ttlMs: number;
  /**
   * Only on @ClaimAlongside endpoints: settles when the first look of the guard's Redis claim has answered,
   * or after ALONGSIDE_WAIT_MS. It resolves when the request may go on (the key is ours, Redis is
   * unavailable or slow and the database decides); it rejects when the request must not go on now (a
   * duplicate: the error to answer, the stored answer to replay, or a key in flight to look at again). The
   * use case awaits it inside its transaction, before its first write, and lets a rejection roll it back:
   * the guard answers it.
   */
  readonly admitted?: Promise<void>;
}

/** What the guard reads of a request (Express's and Fastify's alike) and leaves on it for the handler. */
export interface RequestWithIdempotency {
  method: string;
  /** The path and query as the client sent them. */
  originalUrl: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  idempotency?: IdempotencyContext;
}

/** Hands the guard's context to a handler, for use cases that keep a database backstop. */
export const Idempotency = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): IdempotencyContext | undefined =>
    ctx.switchToHttp().getRequest<RequestWithIdempotency>().idempotency,
);

export const SKIP_IDEMPOTENCY = 'payment-center:skip-idempotency';

/** For write endpoints whose callers retry by protocol (vendor callbacks): the guard stays out of the way. */
export const SkipIdempotency = () => SetMetadata(SKIP_IDEMPOTENCY, true);

export const CLAIM_ALONGSIDE = 'payment-center:idempotency-claim-alongside';

/**
 * For an endpoint whose use case has a complete database backstop (a duplicate cannot commit a second
 * resource, Redis or not) and awaits `IdempotencyContext.admitted` in its transaction before its first
 * write: the guard then sends its Redis claim and starts the handler at once, so the claim's round trip
 * overlaps the transaction's start instead of coming before it. Without the await the endpoint stays
 * correct (the backstop decides) but duplicates reach the database.
 */
export const ClaimAlongside = () => SetMetadata(CLAIM_ALONGSIDE, true);

/** The stored answer of a finished request, for a duplicate found by a claim made alongside the handler. */
export class GuardReplay extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super('duplicate of a finished request: its stored answer is replayed');
  }
}

/**
 * Returned by a use case that found, in the database, that this request was already carried out: the
 * guard sends the original result with `Idempotent-Replayed: true`.
 */
export class Replayed<T> {
  constructor(readonly body: T) {}
}
