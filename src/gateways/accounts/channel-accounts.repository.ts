import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { EntityRows } from '../../database/entity-rows';
import type { Channel } from '../gateway.types';
import { type AccountStatus, ChannelAccount } from './channel-account.entity';

/** One row of account_bindings: an account an application may pay with on a channel. */
export interface AccountBinding {
  applicationId: string;
  channel: Channel;
  accountId: string;
  isDefault: boolean;
}

/** All SQL on `channel_accounts` and `account_bindings`. */
@Injectable()
export class ChannelAccountsRepository {
  private readonly rows: EntityRows<ChannelAccount>;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.rows = new EntityRows(dataSource, ChannelAccount);
  }

  async insert(manager: EntityManager, account: ChannelAccount): Promise<void> {
    await this.rows.insertMany(manager, [account]);
  }

  find(id: string, manager?: EntityManager): Promise<ChannelAccount | null> {
    return this.rows.selectOne(manager, 'id = ?', [id]);
  }

  lock(manager: EntityManager, id: string): Promise<ChannelAccount | null> {
    return this.rows.selectOne(manager, 'id = ?', [id], 'FOR UPDATE');
  }

  /** What a cached adapter is checked against: is it still this version, and may it take new payments? */
  async versionOf(id: string): Promise<{ version: number; status: AccountStatus; statusReason: string | null } | null> {
    const rows = await this.rows.run<{ version: number; status: AccountStatus; status_reason: string | null }[]>(
      undefined,
      'SELECT version, status, status_reason FROM channel_accounts WHERE id = ?',
      [id],
    );
    const [row] = rows;
    return row ? { version: row.version, status: row.status, statusReason: row.status_reason } : null;
  }

  list(channel?: Channel): Promise<ChannelAccount[]> {
    return channel
      ? this.rows.select(undefined, 'channel = ?', [channel], 'ORDER BY id LIMIT 1000')
      : this.rows.select(undefined, '1 = 1', [], 'ORDER BY channel, id LIMIT 1000');
  }

  /** Accounts whose secrets are sealed with another KEK than `kekId` (the re-encrypt command's work). */
  sealedWithOtherThan(kekId: string): Promise<ChannelAccount[]> {
    return this.rows.select(undefined, 'kek_id <> ?', [kekId], 'ORDER BY id');
  }

  async update(
    manager: EntityManager,
    account: ChannelAccount,
    fields: readonly ('name' | 'status' | 'statusReason' | 'settings' | 'secrets' | 'kekId')[],
  ): Promise<void> {
    await this.rows.update(manager, account, [...fields, 'version', 'updatedAt']);
  }

  async bindingsOf(applicationId: string, manager?: EntityManager): Promise<AccountBinding[]> {
    const rows = await this.rows.run<
      { application_id: string; channel: Channel; account_id: string; is_default: number }[]
    >(
      manager,
      'SELECT application_id, channel, account_id, is_default FROM account_bindings WHERE application_id = ? ' +
        'ORDER BY channel, account_id',
      [applicationId],
    );
    return rows.map((r) => ({
      applicationId: r.application_id,
      channel: r.channel,
      accountId: r.account_id,
      isDefault: r.is_default === 1,
    }));
  }

  /** Replaces the application's accounts on one channel (none: back to the default account). */
  async replaceBindings(
    manager: EntityManager,
    applicationId: string,
    channel: Channel,
    accountIds: readonly string[],
    defaultId: string | undefined,
    at: Date,
  ): Promise<void> {
    await this.rows.run(manager, 'DELETE FROM account_bindings WHERE application_id = ? AND channel = ?', [
      applicationId,
      channel,
    ]);
    if (accountIds.length === 0) return;
    const values = accountIds.flatMap((id) => [applicationId, channel, id, id === defaultId ? 1 : 0, at]);
    await this.rows.run(
      manager,
      'INSERT INTO account_bindings (application_id, channel, account_id, is_default, created_at) VALUES ' +
        accountIds.map(() => '(?, ?, ?, ?, ?)').join(', '),
      values,
    );
  }
}
