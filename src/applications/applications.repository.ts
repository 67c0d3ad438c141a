import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { EntityRows } from '../database/entity-rows';
import { ApiKey, Application, type ApplicationStatus } from './application.entity';

/** A key with the status of its application: what the guard decides on. */
export interface KeyWithApplication {
  key: ApiKey;
  applicationStatus: ApplicationStatus;
}

/** All SQL on `applications` and `api_keys`. */
@Injectable()
export class ApplicationsRepository {
  private readonly applicationRows: EntityRows<Application>;
  private readonly keyRows: EntityRows<ApiKey>;
  private readonly keyWithApplicationSql: string;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.applicationRows = new EntityRows(dataSource, Application);
    this.keyRows = new EntityRows(dataSource, ApiKey);
    this.keyWithApplicationSql =
      `SELECT ${this.keyRows.columnsOf('k')}, a.status AS application_status FROM ${this.keyRows.table} k ` +
      `JOIN ${this.applicationRows.table} a ON a.id = k.application_id WHERE k.key_id = ?`;
  }

  // insertMany of one row: insert() reads back an auto-increment key, and these keys are our own strings.
  async insertApplication(manager: EntityManager, application: Application): Promise<void> {
    await this.applicationRows.insertMany(manager, [application]);
  }

  async insertKey(manager: EntityManager, key: ApiKey): Promise<void> {
    await this.keyRows.insertMany(manager, [key]);
  }

  findApplication(id: string, manager?: EntityManager): Promise<Application | null> {
    return this.applicationRows.selectOne(manager, 'id = ?', [id]);
  }

  lockApplication(manager: EntityManager, id: string): Promise<Application | null> {
    return this.applicationRows.selectOne(manager, 'id = ?', [id], 'FOR UPDATE');
  }

  findApplicationByName(name: string): Promise<Application | null> {
    return this.applicationRows.selectOne(undefined, 'name = ?', [name], 'ORDER BY created_at ASC LIMIT 1');
  }

  listApplications(): Promise<Application[]> {
    return this.applicationRows.select(undefined, '1 = 1', [], 'ORDER BY created_at DESC, id LIMIT 500');
  }

  keysOf(applicationIds: string[]): Promise<ApiKey[]> {
    if (applicationIds.length === 0) return Promise.resolve([]);
    const marks = applicationIds.map(() => '?').join(', ');
    return this.keyRows.select(undefined, `application_id IN (${marks})`, applicationIds, 'ORDER BY created_at');
  }

  async setApplicationStatus(manager: EntityManager, id: string, status: ApplicationStatus, at: Date): Promise<void> {
    await this.applicationRows.run(manager, 'UPDATE applications SET status = ?, updated_at = ? WHERE id = ?', [
      status,
      at,
      id,
    ]);
  }

  async setReturnOrigins(manager: EntityManager, id: string, origins: string, at: Date): Promise<void> {
    await this.applicationRows.run(manager, 'UPDATE applications SET return_origins = ?, updated_at = ? WHERE id = ?', [
      origins,
      at,
      id,
    ]);
  }

  lockKey(manager: EntityManager, applicationId: string, keyId: string): Promise<ApiKey | null> {
    return this.keyRows.selectOne(manager, 'key_id = ? AND application_id = ?', [keyId, applicationId], 'FOR UPDATE');
  }

  async revokeKey(manager: EntityManager, keyId: string, at: Date): Promise<void> {
    await this.keyRows.run(manager, 'UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL', [
      at,
      keyId,
    ]);
  }

  async findKeyWithApplication(keyId: string): Promise<KeyWithApplication | null> {
    const [row] = await this.keyRows.run<Record<string, unknown>[]>(undefined, this.keyWithApplicationSql, [keyId]);
    if (!row) return null;
    return { key: this.keyRows.hydrate(row, 'k'), applicationStatus: row.application_status as ApplicationStatus };
  }

  /** Last use, at most as precise as the guard's touch interval (never moves back). */
  async touchKey(keyId: string, at: Date): Promise<void> {
    await this.keyRows.run(
      undefined,
      'UPDATE api_keys SET last_used_at = ? WHERE key_id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
      [at, keyId, at],
    );
  }
}
