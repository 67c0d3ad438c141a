import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { runSql } from '../database/sql';
import { IdempotencyKeyReused } from '../common/errors/domain-error';
import type { IdempotencyContext } from './idempotency-context';

export type IdempotencyClaim = { kind: 'claimed' } | { kind: 'existing'; resourceId: string };

interface ClaimedRow {
  request_hash: string;
  resource_type: string;
  resource_id: string;
}

/**
 * Database backstop of the duplicate-submission guard, for resources that do not carry their key in a
 * column of their own (refunds; an order's key is a column of the order). Call `claim` first inside the transaction that
 * creates the resource: the key's row stays locked until that transaction ends, so concurrent duplicates
 * wait for it and then find the resource, whatever Redis knows.
 */
@Injectable()
export class IdempotencyStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async claim(
    manager: EntityManager,
    guard: IdempotencyContext,
    resource: { type: string; id: string },
    now: Date,
  ): Promise<IdempotencyClaim> {
    const expiresAt = new Date(now.getTime() + guard.ttlMs);
    // One statement, one round trip, no gap locks: insert, or take over a row whose time is up (a derived
    // key's short window has passed, so the same body is a new purchase). MariaDB applies the assignments
    // left to right, so expires_at must come last: the earlier IF()s still see the old value.
    //
    // RETURNING (MariaDB 10.5+) hands back the row as this statement left it, locked by it: a live row
    // someone else holds comes back unchanged, with their resource id. A concurrent duplicate's INSERT
    // waits on the first transaction's row lock and then reads the committed row (or inserts its own if
    // that transaction rolled back). The result's affectedRows cannot tell the cases apart: mysql2 connects
    // with CLIENT_FOUND_ROWS, so "inserted" and "found a live row, changed nothing" both report 1.
    const rows = await runSql<ClaimedRow[]>(
      this.dataSource,
      manager,
      `INSERT INTO idempotency_keys (\`key\`, request_hash, resource_type, resource_id, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE
         request_hash = IF(expires_at <= ?, VALUES(request_hash), request_hash),
         resource_type = IF(expires_at <= ?, VALUES(resource_type), resource_type),
         resource_id = IF(expires_at <= ?, VALUES(resource_id), resource_id),
         created_at = IF(expires_at <= ?, VALUES(created_at), created_at),
         expires_at = IF(expires_at <= ?, VALUES(expires_at), expires_at)
       RETURNING request_hash, resource_type, resource_id`,
      [guard.key, guard.requestHash, resource.type, resource.id, expiresAt, now, now, now, now, now, now],
    );
    const row = rows[0];
    if (!row) throw new Error(`INSERT … RETURNING gave no row for idempotency key ${guard.key}`);
    if (row.resource_id === resource.id) return { kind: 'claimed' };
    if (row.request_hash !== guard.requestHash || row.resource_type !== resource.type) throw new IdempotencyKeyReused();
    return { kind: 'existing', resourceId: row.resource_id };
  }
}
