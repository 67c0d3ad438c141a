import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { InvalidEnvironment } from '../config/environment';
import { ACCOUNT_GATEWAY_FACTORY, type AccountGatewayFactory, DEFAULT_ACCOUNT } from './accounts/account-gateway';
import { AccountVault } from './accounts/account-vault';
import type { ChannelAccount } from './accounts/channel-account.entity';
import { ChannelAccountsRepository } from './accounts/channel-accounts.repository';
import type { Channel } from './gateway.types';
import { PAYMENT_GATEWAYS, PaymentGateway } from './payment-gateway';

export class ChannelUnavailable extends DomainError {
  readonly code = 'CHANNEL_UNAVAILABLE';
  constructor(channel: string, reason?: string) {
    super(
      reason
        ? `Payment channel "${channel}" takes no new payments for this application: ${reason}`
        : `Payment channel "${channel}" is not configured on this Payment Center.`,
    );
  }
}

/** A payment's account that this instance cannot use (gone, or its secrets do not open): an operator's problem. */
export class AccountUnusable extends Error {}

interface Cached {
  gateway: PaymentGateway;
  channel: Channel;
  version: number;
  status: ChannelAccount['status'];
  statusReason: string | null;
  checkedAt: number;
}

/**
 * Picks the adapter of a channel account. `default` is the environment's account of each channel (the
 * adapters registered under PAYMENT_GATEWAYS); every other account is a row of channel_accounts, whose adapter
 * is built once and reused. A reused adapter is checked against its row's version at most every
 * ACCOUNT_CACHE_MS (one primary-key read), and forgotten at once when this instance changes the account, so a
 * rotated key or a disabled account reaches every instance within that time.
 */
@Injectable()
export class GatewayRegistry implements OnModuleInit {
  private readonly logger = new Logger(GatewayRegistry.name);
  private readonly defaults: ReadonlyMap<Channel, PaymentGateway>;
  private readonly cache = new Map<string, Cached>();

  constructor(
    @Inject(PAYMENT_GATEWAYS) gateways: PaymentGateway[],
    @Inject(ChannelAccountsRepository) private readonly accounts: ChannelAccountsRepository,
    @Inject(AccountVault) private readonly vault: AccountVault,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(ACCOUNT_GATEWAY_FACTORY) private readonly gatewayForAccount: AccountGatewayFactory,
  ) {
    const byChannel = new Map<Channel, PaymentGateway>();
    for (const gateway of gateways) {
      if (byChannel.has(gateway.channel)) throw new Error(`Two gateways registered for channel ${gateway.channel}`);
      byChannel.set(gateway.channel, gateway);
    }
    this.defaults = byChannel;
  }

  /**
   * Every stored account must open with the configured KEKs and make an adapter: one that does not is a
   * boot error naming it, never a failed call at payment time.
   */
  async onModuleInit(): Promise<void> {
    const problems: string[] = [];
    for (const account of await this.accounts.list()) {
      try {
        this.remember(account);
      } catch (error) {
        problems.push(`channel account ${account.id} (${account.channel}): ${(error as Error).message}`);
      }
    }
    if (problems.length > 0) throw new InvalidEnvironment(problems);
  }

  /** The environment's adapter of a channel (the default account). */
  get(channel: Channel): PaymentGateway {
    const gateway = this.defaults.get(channel);
    if (!gateway) throw new ChannelUnavailable(channel);
    return gateway;
  }

  /**
   * The adapter a new payment is made with: the account must be of this channel and active. A disabled one
   * answers CHANNEL_UNAVAILABLE with the operator's reason.
   */
  async forNewPayment(channel: Channel, accountId: string): Promise<PaymentGateway> {
    if (accountId === DEFAULT_ACCOUNT) return this.get(channel);
    const cached = await this.current(accountId);
    if (!cached || cached.channel !== channel) throw new ChannelUnavailable(channel);
    if (cached.status !== 'ACTIVE') throw new ChannelUnavailable(channel, cached.statusReason ?? 'account disabled');
    return cached.gateway;
  }

  /**
   * The adapter of the account a payment was made with, whatever its status now: a disabled account's
   * payments are still queried, closed, refunded and reconciled to the end.
   */
  async forAccount(channel: Channel, accountId: string): Promise<PaymentGateway> {
    if (accountId === DEFAULT_ACCOUNT) return this.get(channel);
    const cached = await this.current(accountId);
    if (!cached || cached.channel !== channel) {
      throw new AccountUnusable(`no ${channel} channel account ${accountId} on this Payment Center`);
    }
    return cached.gateway;
  }

  /** The adapter of an account of this channel, whatever its status, or undefined when there is none. */
  async find(channel: Channel, accountId: string): Promise<PaymentGateway | undefined> {
    if (accountId === DEFAULT_ACCOUNT) return this.defaults.get(channel);
    const cached = await this.current(accountId);
    return cached && cached.channel === channel ? cached.gateway : undefined;
  }

  /** Channels with a default account. */
  channels(): Channel[] {
    return [...this.defaults.keys()];
  }

  /** Every account of a channel, the default first: what the daily reconciliation walks. */
  async accountsOf(channel: Channel): Promise<string[]> {
    const stored = (await this.accounts.list(channel)).map((a) => a.id);
    return this.defaults.has(channel) ? [DEFAULT_ACCOUNT, ...stored] : stored;
  }

  /** After this instance changed the account: the next use reads it again. */
  forget(accountId: string): void {
    this.cache.delete(accountId);
  }

  private async current(accountId: string): Promise<Cached | undefined> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(accountId);
    if (cached && now - cached.checkedAt < this.config.accounts.cacheMs) return cached;
    if (cached) {
      const row = await this.accounts.versionOf(accountId);
      if (row && row.version === cached.version) {
        Object.assign(cached, { status: row.status, statusReason: row.statusReason, checkedAt: now });
        return cached;
      }
    }
    const account = await this.accounts.find(accountId);
    if (!account) {
      this.cache.delete(accountId);
      return undefined;
    }
    try {
      return this.remember(account);
    } catch (error) {
      this.logger.error(`channel account ${accountId}: ${(error as Error).message}`);
      throw new AccountUnusable(`channel account ${accountId}: ${(error as Error).message}`);
    }
  }

  private remember(account: ChannelAccount): Cached {
    const gateway = this.gatewayForAccount(this.config, account, this.vault.open(account));
    const cached: Cached = {
      gateway,
      channel: account.channel,
      version: account.version,
      status: account.status,
      statusReason: account.statusReason,
      checkedAt: this.clock.now().getTime(),
    };
    this.cache.set(account.id, cached);
    return cached;
  }
}
