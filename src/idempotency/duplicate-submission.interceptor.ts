import {
  type CallHandler,
  type ExecutionContext,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  type NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { Redis } from 'ioredis';
import { from, lastValueFrom, type Observable, of } from 'rxjs';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { IdempotencyKeyInUse, IdempotencyKeyInvalid, IdempotencyKeyReused } from '../common/errors/domain-error';
import { toHttpError } from '../common/errors/http-error';
import { nodeResponse } from '../common/http-platform';
import { REDIS } from '../common/redis/redis.module';
import {
  CLAIM_ALONGSIDE,
  GuardReplay,
  type IdempotencyContext,
  Replayed,
  type RequestWithIdempotency,
  SKIP_IDEMPOTENCY,
} from './idempotency-context';
import { randomUUID } from 'node:crypto';
import { canonicalJson, isValidIdempotencyKey, sha256 } from './request-fingerprint';

// Compare-and-delete / compare-and-set on the exact in-flight value this request wrote: a request whose
// marker expired and was taken over by another must not delete or overwrite the other's claim.
const RELEASE_IF_OURS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const COMPLETE_IF_OURS = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0`;

/**
 * How long a duplicate that found the key in flight waits before it looks again. It covers a completion
 * write held up by a few milliseconds (write backlog, a Redis hiccup), not a lost TCP segment (Linux
 * retransmits after 200 ms at the earliest); a duplicate of a request that is really still running pays
 * it once before its 409.
 */
export const RELOOK_MS = 50;

/**
 * How long a @ClaimAlongside use case waits in its open transaction for the claim. A claim's answer, with
 * its one second look, takes RELOOK_MS and two round trips, more on a busy event loop. A Redis slower than
 * this (stalled, or gone without refusing connections: commands then take their 1 s timeout) must not keep
 * database connections idle in transactions: the use case goes on, its backstop decides, and the claim's
 * answer, when it comes, only decides whether the response is stored.
 */
export const ALONGSIDE_WAIT_MS = 250;

/**
 * The key was in flight at the first look of a claim made alongside the handler: the use case's transaction
 * rolls back, and the guard looks again outside it (see `run`), so a duplicate does not hold a database
 * connection through RELOOK_MS.
 */
class LookAgain extends Error {
  constructor(readonly first: InFlight) {
    super('the duplicate-submission key is held by a request in flight: look again outside the transaction');
  }
}

/** `IdempotencyContext.admitted` for a claim made alongside the handler (see ALONGSIDE_WAIT_MS). */
function admittedBy(first: Promise<FirstLook>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // setImmediate: an answer already read from the socket (a busy loop runs due timers before I/O) wins.
    const timer = setTimeout(() => setImmediate(resolve), ALONGSIDE_WAIT_MS);
    first.then(
      (look) => {
        clearTimeout(timer);
        if (look.kind === 'replay') reject(new GuardReplay(look.status, look.body));
        else if (look.kind === 'in_flight') reject(new LookAgain(look));
        else resolve();
      },
      (error: Error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Runs `write` as soon as the answer has been handed to the socket (or the connection is gone): `finish`
 * comes before this app reads anything more from its sockets, so the write is on its way to Redis before a
 * retry sent on receipt of the answer can be read (see the class comment). Sending it before the answer
 * put Redis's work on the CPU the client needed to read the answer (about 0.04 ms a request on 2 cores).
 */
function afterAnswer(platformResponse: object, write: () => void): void {
  const response = nodeResponse(platformResponse);
  if (response.writableFinished || response.destroyed) return write();
  let sent = false;
  const once = () => {
    if (sent) return;
    sent = true;
    write();
  };
  response.once('finish', once).once('close', once);
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** What the claim found: the key is now ours, Redis could not say, or a finished request to replay. */
type Claim =
  { kind: 'claimed'; marker: string } | { kind: 'unguarded' } | { kind: 'replay'; status: number; body: unknown };

/** The first look of a claim can also find another request holding the key (it is looked at once more). */
type InFlight = { kind: 'in_flight'; marker: string; holder: StoredEntry };
type FirstLook = Claim | InFlight;

type StoredEntry =
  /** `token` identifies the request holding the key, so only it can release or complete the key. */
  | { state: 'in_flight'; requestHash: string; token: string }
  | { state: 'done'; requestHash: string; status: number; body: unknown };

/**
 * The duplicate-submission guard on every write endpoint (opt out with @SkipIdempotency()).
 *
 * - Key: the client's Idempotency-Key (scoped to the caller), else a hash of caller + method + path +
 *   canonical body, so a double click is caught with no client work.
 * - Redis `SET key NX PX GET` claims the key in one round trip. While the first request runs, duplicates
 *   get 409 + Retry-After; after it succeeds they get its stored response replayed with
 *   `Idempotent-Replayed: true`; the same key with another body gets 422. A failed first request
 *   (4xx or 5xx) releases the key so the client may try again: a retried pay resumes the same payment.
 * - Redis is a fast path, not the guarantee: when it is down or was flushed the request goes on and the
 *   database's unique constraints decide (the order's key column, a refund's key row in IdempotencyStore,
 *   the payment start lock).
 * - One Redis round trip is waited on per request: the claim, before the handler runs; on @ClaimAlongside
 *   endpoints alongside it (the use case waits for `admitted` in its transaction; a key found in flight is
 *   looked at again after the transaction rolled back). The write after the handler (store the
 *   response, or release the key after a failure) is sent as soon as the answer is handed to the socket
 *   (`finish`), not waited for. ioredis writes it to its socket there and then, before this app reads
 *   another request, so a retry sent on receipt of the answer reaches Redis after it, through any
 *   instance, unless that write is held up on the way (a backlogged socket, a slow link to Redis).
 *   For that case a duplicate that finds the key in flight looks once more after RELOOK_MS and only then
 *   answers 409 (a request that finished in the meantime is replayed; a released key is claimed).
 *   The edge that remains: if the write reaches Redis more than RELOOK_MS after the retry, the retry
 *   gets 409 IDEMPOTENCY_KEY_IN_USE with Retry-After: 1 instead of the replay (or of running), and the
 *   next try is answered normally. Nothing runs twice: the 409 is the cautious answer. If the write
 *   fails altogether the answer is out already, as it was when it was awaited: duplicates get 409 until
 *   the in-flight marker expires (IDEMPOTENCY_IN_FLIGHT_TTL_SECONDS); then they run, and the database
 *   decides (the key column or row, the payment start lock).
 */
@Injectable()
export class DuplicateSubmissionInterceptor implements NestInterceptor {
  private readonly logger = new Logger('DuplicateSubmissionGuard');

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<RequestWithIdempotency>();
    // Express's response or Fastify's reply: written through the platform's adapter (see `replay`).
    const response = context.switchToHttp().getResponse<object>();
    const skip = this.reflector.getAllAndOverride<boolean>(SKIP_IDEMPOTENCY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (skip || !WRITE_METHODS.has(request.method)) return next.handle();

    const guard = this.contextFor(request);
    request.idempotency = guard;
    const redisKey = `idem:${guard.key}`;
    const successStatus = this.successStatusOf(context, request.method);

    if (this.reflector.get<boolean>(CLAIM_ALONGSIDE, context.getHandler())) {
      const first = this.firstLook(redisKey, guard);
      const admitted = admittedBy(first);
      admitted.catch(() => undefined); // the use case awaits it; a handler that failed before must not leak it
      request.idempotency = { ...guard, admitted };
      return from(this.run(next, request, redisKey, guard, first, successStatus, response));
    }

    const claim = await this.claim(redisKey, guard);
    if (claim.kind === 'replay') return of(this.replay(response, claim.status, claim.body));
    return from(this.run(next, request, redisKey, guard, Promise.resolve(claim), successStatus, response));
  }

  private replay(response: object, status: number, body: unknown): unknown {
    this.metrics.duplicateCaught('redis_replay');
    const http = this.adapterHost.httpAdapter;
    http.setHeader(response, REPLAYED_HEADER, 'true');
    http.status(response, status);
    return body;
  }

  /**
   * Runs the handler once the claim let it (or, @ClaimAlongside, while the claim's first look is on its
   * way: its use case waits for `admitted` in its transaction, and a duplicate's transaction rolls back with
   * the duplicate's answer, or for a second look outside the transaction). A claimed key gets the answer
   * stored, or is released after a failure.
   */
  private async run(
    next: CallHandler,
    request: RequestWithIdempotency,
    redisKey: string,
    guard: IdempotencyContext,
    claiming: Promise<FirstLook>,
    successStatus: number,
    response: object,
  ): Promise<unknown> {
    // Settled by the time the handler is done when the use case waited for it. If it found a duplicate the
    // use case no longer waited for (Redis answered after ALONGSIDE_WAIT_MS): what the database committed
    // stands, and the key is not ours.
    const ours = async () => {
      const claim = await claiming.catch(() => undefined);
      return claim?.kind === 'claimed' ? claim.marker : undefined;
    };
    let result: unknown;
    try {
      result = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (error) {
      if (error instanceof GuardReplay) return this.replay(response, error.status, error.body);
      if (error instanceof LookAgain) {
        // Nothing was written (the transaction stopped at `admitted`): decide as a claim before the handler.
        const claim = await this.settleInFlight(redisKey, guard, error.first);
        if (claim.kind === 'replay') return this.replay(response, claim.status, claim.body);
        request.idempotency = guard;
        return this.run(next, request, redisKey, guard, Promise.resolve(claim), successStatus, response);
      }
      const marker = await ours();
      if (marker && toHttpError(error).status >= 400) afterAnswer(response, () => this.release(redisKey, marker));
      throw error;
    }
    return this.finish(result, redisKey, guard, await ours(), successStatus, response);
  }

  /** The handler's answer: a database replay is marked as one; a claimed key stores the answer. */
  private finish(
    result: unknown,
    redisKey: string,
    guard: IdempotencyContext,
    marker: string | undefined,
    successStatus: number,
    response: object,
  ): unknown {
    let body = result;
    if (result instanceof Replayed) {
      // The database already held this request's result (Redis had lost or never had the key).
      body = result.body;
      this.metrics.duplicateCaught('database');
      this.adapterHost.httpAdapter.setHeader(response, REPLAYED_HEADER, 'true');
    }
    if (marker) afterAnswer(response, () => this.remember(redisKey, marker, guard, successStatus, body));
    return body;
  }

  private contextFor(request: RequestWithIdempotency): IdempotencyContext {
    const caller = this.callerOf(request);
    const requestHash = sha256(request.method, request.originalUrl, canonicalJson(request.body ?? null));
    const header = request.headers[IDEMPOTENCY_KEY_HEADER];
    if (header !== undefined) {
      const key = Array.isArray(header) ? header.join(',') : header;
      if (!isValidIdempotencyKey(key)) throw new IdempotencyKeyInvalid();
      return {
        key: `k:${sha256(caller, key)}`,
        requestHash,
        explicit: true,
        ttlMs: this.config.idempotency.explicitKeyTtlMs,
      };
    }
    return {
      key: `h:${sha256(caller, requestHash)}`,
      requestHash,
      explicit: false,
      ttlMs: this.config.idempotency.derivedKeyTtlMs,
    };
  }

  /** The authenticated principal when an auth layer set one; one shared namespace otherwise. */
  private callerOf(request: RequestWithIdempotency): string {
    const id = (request as { user?: { id?: string | number } }).user?.id;
    return id !== undefined ? `user:${id}` : 'anonymous';
  }

  private successStatusOf(context: ExecutionContext, method: string): number {
    const declared = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler());
    return declared ?? (method === 'POST' ? HttpStatus.CREATED : HttpStatus.OK);
  }

  /** Claims the key before the handler runs: the first look, and for a key in flight a second one. */
  private async claim(redisKey: string, guard: IdempotencyContext): Promise<Claim> {
    const first = await this.firstLook(redisKey, guard);
    return first.kind === 'in_flight' ? this.settleInFlight(redisKey, guard, first) : first;
  }

  /** One `SET … NX GET`: the key is ours now, Redis could not say, or what holds it. */
  private async firstLook(redisKey: string, guard: IdempotencyContext): Promise<FirstLook> {
    const entry: StoredEntry = { state: 'in_flight', requestHash: guard.requestHash, token: randomUUID() };
    const marker = JSON.stringify(entry);
    let previous: string | null;
    try {
      previous = await this.claimInRedis(redisKey, marker);
    } catch (error) {
      this.logger.warn(
        `Redis unavailable (${(error as Error).message}); request continues with the database as the only duplicate check`,
      );
      return { kind: 'unguarded' };
    }
    const stored = this.parse(previous, guard);
    if (stored === null) return { kind: 'claimed', marker };
    if (stored.state === 'in_flight') return { kind: 'in_flight', marker, holder: stored };
    return { kind: 'replay', status: stored.status, body: stored.body };
  }

  /** A key in flight at the first look: look again after RELOOK_MS; still in flight, 409. */
  private async settleInFlight(redisKey: string, guard: IdempotencyContext, first: InFlight): Promise<Claim> {
    const stored = await this.lookAgain(redisKey, first.marker, guard, first.holder);
    if (stored === null) return { kind: 'claimed', marker: first.marker };
    if (stored.state === 'in_flight') {
      this.metrics.duplicateCaught('in_flight');
      throw new IdempotencyKeyInUse(1);
    }
    return { kind: 'replay', status: stored.status, body: stored.body };
  }

  /**
   * The request holding the key may have finished, its answer out and its completion write still on the
   * way (see the class comment): claim again after RELOOK_MS. If Redis went away meanwhile, what it said
   * last stands (a request holds the key).
   */
  private async lookAgain(
    redisKey: string,
    marker: string,
    guard: IdempotencyContext,
    inFlight: StoredEntry,
  ): Promise<StoredEntry | null> {
    await new Promise((resolve) => setTimeout(resolve, RELOOK_MS));
    let previous: string | null;
    try {
      previous = await this.claimInRedis(redisKey, marker);
    } catch {
      return inFlight;
    }
    return this.parse(previous, guard);
  }

  /** Claims the key unless it is taken, in one round trip; returns what held it, or null when we hold it now. */
  private async claimInRedis(redisKey: string, marker: string): Promise<string | null> {
    // As long as the request may run (derived keys remember results only briefly, but a pay can take a
    // whole gateway timeout); a crashed process's marker expires on its own.
    const inFlightTtl = String(this.config.idempotency.inFlightTtlMs);
    return (await this.redis.call('SET', redisKey, marker, 'PX', inFlightTtl, 'NX', 'GET')) as string | null;
  }

  private parse(previous: string | null, guard: IdempotencyContext): StoredEntry | null {
    if (previous === null) return null;
    const stored = JSON.parse(previous) as StoredEntry;
    if (stored.requestHash !== guard.requestHash) throw new IdempotencyKeyReused();
    return stored;
  }

  /**
   * Stores the response for replay, if the key is still ours. Sent once the answer is out (afterAnswer), not
   * waited for (see the class comment).
   */
  private remember(redisKey: string, marker: string, guard: IdempotencyContext, status: number, body: unknown): void {
    const entry: StoredEntry = { state: 'done', requestHash: guard.requestHash, status, body };
    this.redis
      .eval(COMPLETE_IF_OURS, 1, redisKey, marker, JSON.stringify(entry), String(guard.ttlMs))
      .catch((error: Error) => {
        // Duplicates get 409 until the in-flight marker expires; then they run, and the database decides.
        this.logger.warn(`Could not store the response for replay: ${error.message}`);
      });
  }

  /** Frees the key for a retry, if it is still ours. Sent, not waited for, like `remember`. */
  private release(redisKey: string, marker: string): void {
    this.redis.eval(RELEASE_IF_OURS, 1, redisKey, marker).catch((error: Error) => {
      // The in-flight marker expires on its own (IDEMPOTENCY_IN_FLIGHT_TTL_SECONDS).
      this.logger.warn(`Could not release idempotency key: ${error.message}`);
    });
  }
}
