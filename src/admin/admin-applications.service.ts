import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ApiKeyAuthenticator } from '../applications/api-key.authenticator';
import type { ApplicationStatus } from '../applications/application.entity';
import { type ApplicationView, ApplicationsService, type NewKey } from '../applications/applications.service';
import { Clock } from '../common/clock';
import { RequestValidationFailed } from '../common/errors/domain-error';
import { inTransaction } from '../database/transaction';
import { AdminAuditLog } from './auth/admin-audit-log';

/**
 * Operators manage applications and their keys. Each change and its audit row commit in one transaction;
 * a revocation or a disabled application takes effect on this instance at once (the key cache forgets it
 * after the commit) and on the others within KEY_CACHE_MS.
 */
@Injectable()
export class AdminApplicationsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(ApplicationsService) private readonly applications: ApplicationsService,
    @Inject(ApiKeyAuthenticator) private readonly authenticator: ApiKeyAuthenticator,
    @Inject(AdminAuditLog) private readonly audit: AdminAuditLog,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async create(actor: string, name: string): Promise<ApplicationView> {
    const application = await inTransaction(this.dataSource, async (manager) => {
      const created = await this.applications.create(manager, name);
      await this.audit.record(actor, 'application.create', { applicationId: created.id, name }, 1, manager);
      return created;
    });
    return this.applications.get(application.id);
  }

  createKey(actor: string, applicationId: string, options: NewKey) {
    if (options.expiresAt && options.expiresAt <= this.clock.now()) {
      throw new RequestValidationFailed([{ field: 'expiresAt', messages: ['expiresAt must be in the future'] }]);
    }
    return inTransaction(this.dataSource, async (manager) => {
      const created = await this.applications.createKey(manager, applicationId, options);
      const { keyId, scopes, expiresAt } = created.key;
      await this.audit.record(actor, 'api_key.create', { applicationId, keyId, scopes, expiresAt }, 1, manager);
      return created;
    });
  }

  async revokeKey(actor: string, applicationId: string, keyId: string) {
    const key = await inTransaction(this.dataSource, async (manager) => {
      const revoked = await this.applications.revokeKey(manager, applicationId, keyId);
      await this.audit.record(actor, 'api_key.revoke', { applicationId, keyId }, 1, manager);
      return revoked;
    });
    this.authenticator.forgetKey(keyId);
    return key;
  }

  async setStatus(actor: string, applicationId: string, status: ApplicationStatus): Promise<ApplicationView> {
    await inTransaction(this.dataSource, async (manager) => {
      await this.applications.setStatus(manager, applicationId, status);
      await this.audit.record(actor, 'application.status', { applicationId, status }, 1, manager);
    });
    this.authenticator.forgetApplication(applicationId);
    return this.applications.get(applicationId);
  }

  async setReturnOrigins(actor: string, applicationId: string, origins: string[]): Promise<ApplicationView> {
    await inTransaction(this.dataSource, async (manager) => {
      await this.applications.setReturnOrigins(manager, applicationId, origins);
      await this.audit.record(actor, 'application.return_origins', { applicationId, origins }, 1, manager);
    });
    return this.applications.get(applicationId);
  }
}
