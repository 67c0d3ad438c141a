import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { type ApiKeyRefusal, MetricsService } from '../metrics/metrics.service';
import { type ApiScope, keyIdOf, parseScopes, secretMatches } from './api-key-secret';
import { ApiKeyForbidden, ApiKeyUnauthenticated } from './application-errors';
import { ApplicationsRepository, type KeyWithApplication } from './applications.repository';

/** The application behind a business request, as the API key guard established it. */
export interface Caller {
  applicationId: string;
  keyId: string;
  scopes: readonly ApiScope[];
}

/**
 * How long a key read from the database is trusted. A revocation or a disabled application made through
 * another instance takes effect here within this time (on the instance that made it, at once: it forgets
 * the key). Short enough for an incident, long enough that a busy key costs one read per window.
 */
export const KEY_CACHE_MS = 5_000;
/** Keys remembered at most (known or not): a flood of made-up key ids cannot grow the map without bound. */
const KEY_CACHE_MAX = 10_000;
/** `last_used_at` is written at most once per key per minute, off the request's path. */
const TOUCH_EVERY_MS = 60_000;

/** A hash no secret has: an unknown key id still costs one comparison, like a known one. */
const NO_HASH = '0'.repeat(64);

@Injectable()
export class ApiKeyAuthenticator {
  private readonly logger = new Logger('ApiKeys');
  private readonly cache = new Map<string, { entry: KeyWithApplication | null; loadedAt: number }>();

  constructor(
    @Inject(ApplicationsRepository) private readonly repository: ApplicationsRepository,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /**
   * The caller a bearer secret stands for, allowed `scope`; else UNAUTHENTICATED (missing, malformed,
   * unknown, revoked, expired, disabled application) or FORBIDDEN (scope). Every refusal is counted and
   * logged with the key id when there is one, never with the secret.
   */
  async authenticate(authorization: string | undefined, scope: ApiScope): Promise<Caller> {
    if (!authorization) return this.refuse('missing');
    const secret = /^Bearer ([\x21-\x7E]{1,200})$/.exec(authorization)?.[1];
    const keyId = secret && keyIdOf(secret);
    if (!secret || !keyId) return this.refuse('malformed');
    const found = await this.load(keyId);
    if (!secretMatches(secret, found?.key.secretHash ?? NO_HASH) || !found) return this.refuse('unknown', keyId);
    const { key } = found;
    const now = this.clock.now();
    if (key.revokedAt) return this.refuse('revoked', keyId);
    if (key.expiresAt && key.expiresAt <= now) return this.refuse('expired', keyId);
    if (found.applicationStatus !== 'ACTIVE') return this.refuse('disabled', keyId);
    const scopes = parseScopes(key.scopes);
    if (!scopes.includes(scope)) return this.refuse('scope', keyId, scope);
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() >= TOUCH_EVERY_MS) {
      key.lastUsedAt = now;
      this.repository.touchKey(key.keyId, now).catch((error: unknown) => {
        this.logger.warn(`could not record the last use of key ${key.keyId}: ${String(error)}`);
      });
    }
    return { applicationId: key.applicationId, keyId, scopes };
  }

  /** Drops what this instance remembers of a key (after its revocation commits). */
  forgetKey(keyId: string): void {
    this.cache.delete(keyId);
  }

  /** Drops every remembered key of an application (after it is disabled or enabled). */
  forgetApplication(applicationId: string): void {
    for (const [keyId, cached] of this.cache) {
      if (cached.entry?.key.applicationId === applicationId) this.cache.delete(keyId);
    }
  }

  private async load(keyId: string): Promise<KeyWithApplication | null> {
    const now = Date.now();
    const cached = this.cache.get(keyId);
    if (cached && now - cached.loadedAt < KEY_CACHE_MS) return cached.entry;
    const entry = await this.repository.findKeyWithApplication(keyId);
    if (this.cache.size >= KEY_CACHE_MAX) this.cache.clear();
    this.cache.set(keyId, { entry, loadedAt: now });
    return entry;
  }

  private refuse(reason: ApiKeyRefusal, keyId?: string, scope?: ApiScope): never {
    this.metrics.apiKeyRefused(reason);
    this.logger.warn(`API key refused: ${reason}${keyId ? ` (key ${keyId})` : ''}${scope ? `, needs ${scope}` : ''}`);
    if (reason === 'scope' && scope) throw new ApiKeyForbidden(scope);
    throw new ApiKeyUnauthenticated();
  }
}
