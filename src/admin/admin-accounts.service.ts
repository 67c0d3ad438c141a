import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ApplicationsService } from '../applications/applications.service';
import { inTransaction } from '../database/transaction';
import type { AccountStatus } from '../gateways/accounts/channel-account.entity';
import { ChannelAccountsService, type NewAccount } from '../gateways/accounts/channel-accounts.service';
import type { Channel } from '../gateways/gateway.types';
import { AdminAuditLog } from './auth/admin-audit-log';

/**
 * Operators manage channel accounts. Each change and its audit row commit together; the audit names the
 * account and which fields changed, never a secret's value.
 */
@Injectable()
export class AdminAccountsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(ChannelAccountsService) private readonly accounts: ChannelAccountsService,
    @Inject(ApplicationsService) private readonly applications: ApplicationsService,
    @Inject(AdminAuditLog) private readonly audit: AdminAuditLog,
  ) {}

  create(actor: string, input: NewAccount) {
    return inTransaction(this.dataSource, async (manager) => {
      const created = await this.accounts.create(manager, input);
      const detail = { accountId: created.id, channel: created.channel, kind: created.kind, kekId: created.kekId };
      await this.audit.record(actor, 'account.create', detail, 1, manager);
      return created;
    });
  }

  rotate(actor: string, id: string, change: { settings?: Record<string, unknown>; secrets?: Record<string, unknown> }) {
    return inTransaction(this.dataSource, async (manager) => {
      const rotated = await this.accounts.rotate(manager, id, change);
      const detail = {
        accountId: id,
        settings: Object.keys(change.settings ?? {}),
        secrets: Object.keys(change.secrets ?? {}),
        version: rotated.version,
      };
      await this.audit.record(actor, 'account.rotate', detail, 1, manager);
      return rotated;
    });
  }

  setStatus(actor: string, id: string, status: AccountStatus, reason?: string) {
    return inTransaction(this.dataSource, async (manager) => {
      const changed = await this.accounts.setStatus(manager, id, status, reason ?? null);
      await this.audit.record(actor, 'account.status', { accountId: id, status, reason: reason ?? null }, 1, manager);
      return changed;
    });
  }

  async bind(actor: string, applicationId: string, channel: Channel, accountIds: string[], defaultId?: string) {
    await this.applications.get(applicationId); // APPLICATION_NOT_FOUND before anything is written
    return inTransaction(this.dataSource, async (manager) => {
      const bound = await this.accounts.bind(manager, applicationId, channel, accountIds, defaultId);
      const detail = {
        applicationId,
        channel,
        accountIds,
        defaultAccountId: bound.find((b) => b.isDefault)?.accountId,
      };
      await this.audit.record(actor, 'account.bind', detail, bound.length, manager);
      return bound;
    });
  }

  async bindingsOf(applicationId: string) {
    await this.applications.get(applicationId);
    return this.accounts.bindingsOf(applicationId);
  }
}
