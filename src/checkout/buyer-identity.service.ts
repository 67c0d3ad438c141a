import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DomainError } from '../common/errors/domain-error';
import { Clock } from '../common/clock';
import { REDIS } from '../common/redis/redis.module';
import { AppConfig } from '../config/app-config';
import type { Channel } from '../gateways/gateway.types';
import { BuyerIdentityProviders } from '../gateways/identity/buyer-identity-providers';

export class BuyerIdentityNotFound extends DomainError {
  readonly code = 'BUYER_IDENTITY_NOT_FOUND';
  constructor(id: string) {
    super(`Buyer identity ${id} not found.`);
  }
}

export class BuyerIdentityUnavailable extends DomainError {
  readonly code = 'BUYER_IDENTITY_UNAVAILABLE';
  constructor(channel: string) {
    super(`${channel} buyer identity is not available on this Payment Center`);
  }
}

/** `bi` + 32 hex digits (128 random bits): also the OAuth `state`, which WeChat limits to A-Z a-z 0-9. */
export const BUYER_IDENTITY_ID = /^bi[0-9a-f]{32}$/;

/** Where the buyer goes once identified: back to the merchant's page, or on to pay an order (the aggregate code). */
export type IdentityNext = { kind: 'return'; returnUrl: string } | { kind: 'pay'; checkoutCode: string };

export interface BuyerIdentityRecord {
  id: string;
  applicationId: string;
  channel: Channel;
  /** The app the buyer id belongs to: in-app payments with it are made under this app. */
  appId: string;
  status: 'PENDING' | 'IDENTIFIED' | 'FAILED';
  payerId: string | null;
  failure: string | null;
  next: IdentityNext;
  expiresAt: string;
}

/** The path the vendors send the buyer back to (registered with the vendor as the OAuth callback). */
export const OAUTH_CALLBACK_PATH = '/pay/oauth';

/**
 * Learns who pays inside WeChat or Alipay, for in-app payments, without the merchant writing vendor code: a
 * request makes the vendor's authorize URL (its `state` is the request's id), the vendor sends the buyer back to
 * our callback with a one-time code, and the exchange's buyer id is kept for BUYER_IDENTITY_TTL for the
 * application to read. Records live in Redis only: they are minutes long, hold no money, and a lost one means the
 * buyer is sent through the (silent) OAuth again. A callback is applied once: a replayed or second one is refused.
 */
@Injectable()
export class BuyerIdentity {
  private readonly logger = new Logger(BuyerIdentity.name);

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(BuyerIdentityProviders) private readonly providers: BuyerIdentityProviders,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** A new request: its record and the vendor page to send the buyer to. */
  async begin(
    applicationId: string,
    channel: Channel,
    next: IdentityNext,
  ): Promise<{ record: BuyerIdentityRecord; authorizeUrl: string }> {
    const provider = this.providers.of(channel);
    if (!provider) throw new BuyerIdentityUnavailable(channel);
    const ttlMs = this.config.identity.ttlMs;
    const record: BuyerIdentityRecord = {
      id: `bi${randomBytes(16).toString('hex')}`,
      applicationId,
      channel,
      appId: provider.appId,
      status: 'PENDING',
      payerId: null,
      failure: null,
      next,
      expiresAt: new Date(this.clock.now().getTime() + ttlMs).toISOString(),
    };
    await this.redis.set(keyOf(record.id), JSON.stringify(record), 'PX', ttlMs);
    return { record, authorizeUrl: provider.authorizeUrl(this.callbackUrl(channel), record.id) };
  }

  /** The record, if it belongs to `applicationId` (another application's is not found, like none). */
  async read(applicationId: string, id: string): Promise<BuyerIdentityRecord> {
    const record = BUYER_IDENTITY_ID.test(id) ? await this.load(id) : undefined;
    if (!record || record.applicationId !== applicationId) throw new BuyerIdentityNotFound(id);
    return record;
  }

  /**
   * The vendor's callback: the code of request `state` exchanged, once. Undefined for a request that does not
   * exist (expired, never made) or was already completed; otherwise the record as completed.
   */
  async complete(channel: Channel, state: string, code: string | undefined): Promise<BuyerIdentityRecord | undefined> {
    if (!BUYER_IDENTITY_ID.test(state)) return undefined;
    const record = await this.load(state);
    if (!record || record.channel !== channel || record.status !== 'PENDING') return undefined;
    // One callback per request: a replay, or a second code for the same state, finds the claim taken.
    const claimed = await this.redis.set(`${keyOf(state)}:claim`, '1', 'PX', this.config.identity.ttlMs, 'NX');
    if (claimed !== 'OK') return undefined;
    const provider = this.providers.of(channel);
    const answer = !code
      ? ({ kind: 'refused', code: 'NO_CODE', message: 'the buyer did not authorise' } as const)
      : provider
        ? await provider.exchange(code)
        : ({ kind: 'refused', code: 'UNAVAILABLE', message: 'no OAuth for this channel' } as const);
    const completed: BuyerIdentityRecord =
      answer.kind === 'identified'
        ? { ...record, status: 'IDENTIFIED', payerId: answer.payerId }
        : {
            ...record,
            status: 'FAILED',
            failure: answer.kind === 'refused' ? `${answer.code}: ${answer.message}` : answer.reason,
          };
    if (completed.status === 'FAILED') this.logger.warn(`buyer identity ${state} (${channel}): ${completed.failure}`);
    await this.redis.set(keyOf(state), JSON.stringify(completed), 'KEEPTTL');
    return completed;
  }

  private callbackUrl(channel: Channel): string {
    return `${this.config.publicBaseUrl.replace(/\/+$/, '')}${OAUTH_CALLBACK_PATH}/${channel}`;
  }

  private async load(id: string): Promise<BuyerIdentityRecord | undefined> {
    const text = await this.redis.get(keyOf(id));
    return text ? (JSON.parse(text) as BuyerIdentityRecord) : undefined;
  }
}

const keyOf = (id: string) => `buyer-identity:${id}`;
