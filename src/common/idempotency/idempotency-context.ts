import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';

/** What the duplicate-submission guard worked out for one write request. */
export interface IdempotencyContext {
  /** Storage key: sha256 of caller + client key (explicit) or of caller + method + path + body (derived). */
  readonly key: string;
  /** sha256 of method + path + canonical body: the same key with another request is refused. */
  readonly requestHash: string;
  readonly explicit: boolean;
  /** How long a completed request is remembered. */
  readonly ttlMs: number;
}

export type RequestWithIdempotency = Request & { idempotency?: IdempotencyContext };

/** Hands the guard's context to a handler, for use cases that keep a database backstop. */
export const Idempotency = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): IdempotencyContext | undefined =>
    ctx.switchToHttp().getRequest<RequestWithIdempotency>().idempotency,
);

export const SKIP_IDEMPOTENCY = 'payment-center:skip-idempotency';

/** For write endpoints whose callers retry by protocol (vendor callbacks): the guard stays out of the way. */
export const SkipIdempotency = () => SetMetadata(SKIP_IDEMPOTENCY, true);

/**
 * Returned by a use case that found, in the database, that this request was already carried out: the
 * guard sends the original result with `Idempotent-Replayed: true`.
 */
export class Replayed<T> {
  constructor(readonly body: T) {}
}
