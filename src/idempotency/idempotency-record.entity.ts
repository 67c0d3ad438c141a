import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The database's copy of a duplicate-submission key for a resource without a key column of its own (a
 * refund; an order keeps its key in the order row): the last word when Redis is down or was flushed.
 * Written in the same transaction as the resource it created.
 */
@Entity({ name: 'idempotency_keys' })
export class IdempotencyRecord {
  @PrimaryColumn({ type: 'varchar', length: 66 })
  key: string;

  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash: string;

  @Column({ name: 'resource_type', type: 'varchar', length: 32 })
  resourceType: string;

  @Column({ name: 'resource_id', type: 'varchar', length: 64 })
  resourceId: string;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt: Date;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}
