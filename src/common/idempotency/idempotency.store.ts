import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { IdempotencyKeyReused } from '../errors/domain-error';
import type { IdempotencyContext } from './idempotency-context';
import { IdempotencyRecord } from './idempotency-record.entity';

export type IdempotencyClaim = { kind: 'claimed' } | { kind: 'existing'; resourceId: string };

/**
 * Database backstop of the duplicate-submission guard. Call `claim` first inside the transaction that
 * creates the resource: the key's row stays locked until that transaction ends, so concurrent duplicates
 * wait for it and then find the resource, whatever Redis knows.
 */
@Injectable()
export class IdempotencyStore {
  async claim(
    manager: EntityManager,
    guard: IdempotencyContext,
    resource: { type: string; id: string },
    now: Date,
  ): Promise<IdempotencyClaim> {
    const expiresAt = new Date(now.getTime() + guard.ttlMs);
    // One statement, no gap locks: insert, or take over a row whose time is up (a derived key's short
    // window has passed, so the same body is a new purchase). MariaDB applies the assignments left to
    // right, so expires_at must come last: the earlier IF()s still see the old value.
    await manager.query(
      `INSERT INTO idempotency_keys (\`key\`, request_hash, resource_type, resource_id, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE
         request_hash = IF(expires_at <= ?, VALUES(request_hash), request_hash),
         resource_type = IF(expires_at <= ?, VALUES(resource_type), resource_type),
         resource_id = IF(expires_at <= ?, VALUES(resource_id), resource_id),
         created_at = IF(expires_at <= ?, VALUES(created_at), created_at),
         expires_at = IF(expires_at <= ?, VALUES(expires_at), expires_at)`,
      [guard.key, guard.requestHash, resource.type, resource.id, expiresAt, now, now, now, now, now, now],
    );
    const row = await manager
      .getRepository(IdempotencyRecord)
      .createQueryBuilder('k')
      .setLock('pessimistic_write')
      .where('k.key = :key', { key: guard.key })
      .getOneOrFail();
    if (row.resourceId === resource.id) return { kind: 'claimed' };
    if (row.requestHash !== guard.requestHash || row.resourceType !== resource.type) throw new IdempotencyKeyReused();
    return { kind: 'existing', resourceId: row.resourceId };
  }
}
