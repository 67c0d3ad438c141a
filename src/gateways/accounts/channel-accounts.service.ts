import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { afterCommit } from '../../database/transaction';
import { CHANNELS, type Channel } from '../gateway.types';
import { GatewayRegistry } from '../gateway-registry';
import { DEFAULT_ACCOUNT, gatewayForAccount, notifyUrlOf } from './account-gateway';
import { AccountNotFound, AccountRejected } from './account-errors';
import { accountProblems, type AccountKind, kindOf, NEW_ACCOUNT_ID, SECRET_FIELDS } from './account-material';
import { AccountSelection } from './account-selection';
import { AccountVault } from './account-vault';
import { type AccountStatus, ChannelAccount } from './channel-account.entity';
import { type AccountBinding, ChannelAccountsRepository } from './channel-accounts.repository';

/** What an operator sees of an account: never a secret, only which secret fields it holds. */
export interface AccountView {
  id: string;
  channel: Channel;
  kind: AccountKind;
  name: string;
  status: AccountStatus;
  statusReason: string | null;
  settings: Record<string, unknown>;
  secretFields: string[];
  kekId: string;
  version: number;
  notifyUrl: string;
  createdAt: string;
  updatedAt: string;
}

export interface NewAccount {
  id: string;
  channel: Channel;
  name: string;
  settings: Record<string, unknown>;
  secrets: Record<string, unknown>;
}

/** Who an account is at its vendor: fixed for its life, because its trades are found by these at the vendor. */
const IDENTITY_FIELDS = ['mchid', 'appid', 'subMchid', 'subAppid', 'appId', 'authAppId', 'sellerId', 'merId'];

/**
 * Channel accounts as operators manage them: created with their secrets (sealed at once), keys rotated,
 * disabled and enabled, bound to applications. Callers hold the transaction (and write the audit entry in
 * it); the adapters of this instance are rebuilt after commit, other instances within ACCOUNT_CACHE_MS.
 */
@Injectable()
export class ChannelAccountsService {
  constructor(
    @Inject(ChannelAccountsRepository) private readonly accounts: ChannelAccountsRepository,
    @Inject(AccountVault) private readonly vault: AccountVault,
    @Inject(GatewayRegistry) private readonly registry: GatewayRegistry,
    @Inject(AccountSelection) private readonly selection: AccountSelection,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async create(manager: EntityManager, input: NewAccount): Promise<AccountView> {
    const problems: string[] = [];
    if (!NEW_ACCOUNT_ID.test(input.id) || input.id === DEFAULT_ACCOUNT) {
      problems.push('id: 3 to 32 lower-case letters, digits and -, starting with a letter or digit; not "default"');
    }
    if (!CHANNELS.includes(input.channel)) problems.push(`channel: one of ${CHANNELS.join(', ')}`);
    else problems.push(...accountProblems(input.channel, input.settings, input.secrets));
    if (!this.vault.configured)
      problems.push('ACCOUNT_KEKS is not set on this Payment Center: secrets cannot be sealed');
    if (problems.length > 0) throw new AccountRejected(problems);
    if (await this.accounts.find(input.id, manager)) throw new AccountRejected([`id: account ${input.id} exists`]);
    const secrets = input.secrets as Record<string, string>;
    this.checkBuilds(input.id, input.channel, input.settings, secrets);
    const now = this.clock.now();
    const { sealed, kekId } = this.vault.seal(input.id, secrets);
    const account = Object.assign(new ChannelAccount(), {
      id: input.id,
      channel: input.channel,
      name: input.name,
      status: 'ACTIVE' as const,
      statusReason: null,
      settings: input.settings,
      secrets: sealed,
      kekId,
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    await this.accounts.insert(manager, account);
    return this.view(account);
  }

  /**
   * New keys for an account: settings (platformKeys replaced whole — list the old key beside the new one for
   * the overlap) and secrets (each field given is replaced). Who the account is cannot change.
   */
  async rotate(
    manager: EntityManager,
    id: string,
    change: { settings?: Record<string, unknown>; secrets?: Record<string, unknown> },
  ): Promise<AccountView> {
    const account = await this.lockOrFail(manager, id);
    const renamed = IDENTITY_FIELDS.filter(
      (f) => change.settings && f in change.settings && change.settings[f] !== account.settings[f],
    );
    if (renamed.length > 0) {
      throw new AccountRejected(renamed.map((f) => `settings.${f}: cannot change (create another account instead)`));
    }
    const settings = { ...account.settings, ...(change.settings ?? {}) };
    const secrets = { ...this.vault.open(account), ...((change.secrets ?? {}) as Record<string, string>) };
    const problems = accountProblems(account.channel, settings, secrets);
    if (problems.length > 0) throw new AccountRejected(problems);
    this.checkBuilds(id, account.channel, settings, secrets);
    const { sealed, kekId } = this.vault.seal(id, secrets);
    Object.assign(account, { settings, secrets: sealed, kekId });
    await this.save(manager, account, ['settings', 'secrets', 'kekId']);
    return this.view(account);
  }

  async setStatus(manager: EntityManager, id: string, status: AccountStatus, reason: string | null) {
    const account = await this.lockOrFail(manager, id);
    Object.assign(account, { status, statusReason: status === 'ACTIVE' ? null : reason });
    await this.save(manager, account, ['status', 'statusReason']);
    return this.view(account);
  }

  /** Seals the account's secrets anew with the current KEK (the re-encrypt command, per account). */
  async reseal(manager: EntityManager, id: string): Promise<boolean> {
    const account = await this.lockOrFail(manager, id);
    if (account.kekId === this.vault.currentKekId) return false;
    const { sealed, kekId } = this.vault.seal(id, this.vault.open(account));
    Object.assign(account, { secrets: sealed, kekId });
    await this.save(manager, account, ['secrets', 'kekId']);
    return true;
  }

  /** Accounts not sealed with the current KEK. */
  async staleSeals(): Promise<string[]> {
    const current = this.vault.currentKekId;
    return current ? (await this.accounts.sealedWithOtherThan(current)).map((a) => a.id) : [];
  }

  /** The application's accounts on a channel; none puts it back on the default account. */
  async bind(
    manager: EntityManager,
    applicationId: string,
    channel: Channel,
    accountIds: string[],
    defaultId?: string,
  ): Promise<AccountBinding[]> {
    const problems: string[] = [];
    const unique = [...new Set(accountIds)];
    for (const id of unique) {
      const account = await this.accounts.find(id, manager);
      if (!account || account.channel !== channel) problems.push(`accountIds: no ${channel} account ${id}`);
    }
    const chosen = defaultId ?? unique[0];
    if (chosen !== undefined && !unique.includes(chosen)) problems.push('defaultAccountId: must be one of accountIds');
    if (problems.length > 0) throw new AccountRejected(problems);
    await this.accounts.replaceBindings(manager, applicationId, channel, unique, chosen, this.clock.now());
    afterCommit(manager, () => this.selection.forget(applicationId));
    return (await this.accounts.bindingsOf(applicationId, manager)).filter((b) => b.channel === channel);
  }

  bindingsOf(applicationId: string): Promise<AccountBinding[]> {
    return this.accounts.bindingsOf(applicationId);
  }

  async list(channel?: Channel): Promise<AccountView[]> {
    return (await this.accounts.list(channel)).map((a) => this.view(a));
  }

  async get(id: string): Promise<AccountView> {
    const account = await this.accounts.find(id);
    if (!account) throw new AccountNotFound(id);
    return this.view(account);
  }

  private async lockOrFail(manager: EntityManager, id: string): Promise<ChannelAccount> {
    const account = await this.accounts.lock(manager, id);
    if (!account) throw new AccountNotFound(id);
    return account;
  }

  private async save(
    manager: EntityManager,
    account: ChannelAccount,
    fields: Parameters<ChannelAccountsRepository['update']>[2],
  ): Promise<void> {
    account.version += 1;
    account.updatedAt = this.clock.now();
    await this.accounts.update(manager, account, fields);
    afterCommit(manager, () => this.registry.forget(account.id));
  }

  /** The material parsed by accountProblems must also make an adapter (e.g. an Alipay key the SDK refuses). */
  private checkBuilds(
    id: string,
    channel: Channel,
    settings: Record<string, unknown>,
    secrets: Record<string, string>,
  ) {
    try {
      gatewayForAccount(this.config, { id, channel, settings }, secrets);
    } catch (error) {
      throw new AccountRejected([`the account's keys do not make a ${channel} adapter: ${(error as Error).message}`]);
    }
  }

  private view(account: ChannelAccount): AccountView {
    const secretFields = Object.keys(JSON.parse(account.secrets) as object).filter((f) =>
      SECRET_FIELDS[account.channel].includes(f),
    );
    return {
      id: account.id,
      channel: account.channel,
      kind: kindOf(account.channel, account.settings, secretFields),
      name: account.name,
      status: account.status,
      statusReason: account.statusReason,
      settings: account.settings,
      secretFields,
      kekId: account.kekId,
      version: account.version,
      notifyUrl: notifyUrlOf(this.config, account.channel, account.id),
      createdAt: account.createdAt.toISOString(),
      updatedAt: account.updatedAt.toISOString(),
    };
  }
}
