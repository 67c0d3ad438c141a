import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The duplicate-submission key of POST /api/orders moves onto the order row: the order's own INSERT claims
 * it (unique index), so creating an order no longer spends a statement on a separate key row. Keys already
 * held in idempotency_keys for orders are carried over (each points at exactly one order), so a duplicate
 * arriving across the upgrade still finds its order. Refunds keep their key rows in idempotency_keys.
 * Upgrade with the old version stopped (or Redis up throughout): an old instance still running would write
 * an order's key to idempotency_keys, where new instances no longer look. The revert keeps a key row that
 * exists already (INSERT IGNORE: a refund's, or one an old instance wrote).
 */
export class OrderIdempotencyKey1764500000000 implements MigrationInterface {
  name = 'OrderIdempotencyKey1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE orders
        ADD COLUMN idempotency_key VARCHAR(66) NULL,
        ADD COLUMN idempotency_request_hash CHAR(64) NULL,
        ADD COLUMN idempotency_expires_at DATETIME(3) NULL`);
    await queryRunner.query(`
      UPDATE orders o JOIN idempotency_keys k ON k.resource_type = 'order' AND k.resource_id = o.order_no
      SET o.idempotency_key = k.\`key\`, o.idempotency_request_hash = k.request_hash,
          o.idempotency_expires_at = k.expires_at`);
    await queryRunner.query(`DELETE FROM idempotency_keys WHERE resource_type = 'order'`);
    await queryRunner.query(`CREATE UNIQUE INDEX uq_orders_idempotency_key ON orders (idempotency_key)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      INSERT IGNORE INTO idempotency_keys (\`key\`, request_hash, resource_type, resource_id, expires_at, created_at)
      SELECT idempotency_key, idempotency_request_hash, 'order', order_no, idempotency_expires_at, created_at
      FROM orders WHERE idempotency_key IS NOT NULL`);
    await queryRunner.query(`DROP INDEX uq_orders_idempotency_key ON orders`);
    await queryRunner.query(`
      ALTER TABLE orders
        DROP COLUMN idempotency_key, DROP COLUMN idempotency_request_hash, DROP COLUMN idempotency_expires_at`);
  }
}
