import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import type { Channel } from '../gateway.types';
import { DEFAULT_ACCOUNT } from './account-gateway';
import { AccountNotAllowed } from './account-errors';
import { type AccountBinding, ChannelAccountsRepository } from './channel-accounts.repository';

/**
 * Which account an application's new payment is made with: its default account on the channel, or the one
 * it names when it is bound to several (two brands of one group). An application bound to none on a
 * channel pays with the environment's `default` account, as every application did before accounts existed.
 * The bindings are read at most every ACCOUNT_CACHE_MS per application, so a checkout costs no statement.
 */
@Injectable()
export class AccountSelection {
  private readonly cache = new Map<string, { bindings: AccountBinding[]; at: number }>();

  constructor(
    @Inject(ChannelAccountsRepository) private readonly accounts: ChannelAccountsRepository,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async accountFor(applicationId: string | null, channel: Channel, requested?: string): Promise<string> {
    const bound = applicationId ? (await this.bindingsOf(applicationId)).filter((b) => b.channel === channel) : [];
    if (bound.length === 0) {
      if (requested !== undefined && requested !== DEFAULT_ACCOUNT) throw new AccountNotAllowed(channel, requested);
      return DEFAULT_ACCOUNT;
    }
    if (requested === undefined) return (bound.find((b) => b.isDefault) ?? bound[0]).accountId;
    if (!bound.some((b) => b.accountId === requested)) throw new AccountNotAllowed(channel, requested);
    return requested;
  }

  forget(applicationId: string): void {
    this.cache.delete(applicationId);
  }

  private async bindingsOf(applicationId: string): Promise<AccountBinding[]> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(applicationId);
    if (cached && now - cached.at < this.config.accounts.cacheMs) return cached.bindings;
    const bindings = await this.accounts.bindingsOf(applicationId);
    this.cache.set(applicationId, { bindings, at: now });
    return bindings;
  }
}
