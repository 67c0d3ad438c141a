import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Lost-payment recovery: what is due (one index), every gateway attempt, refunds, and Orders' own check. */
export class Recovery1764200000000 implements MigrationInterface {
  name = 'Recovery1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Only open payments have a next query time, so the reconciler's range scan touches due rows only.
    await queryRunner.query(
      `ALTER TABLE payments DROP INDEX ix_payments_status_next_query, ADD INDEX ix_payments_next_query (next_query_at)`,
    );
    await queryRunner.query(`
      CREATE TABLE payment_attempts (
        id BIGINT NOT NULL AUTO_INCREMENT,
        payment_no VARCHAR(32) NOT NULL,
        refund_no VARCHAR(32) NULL,
        action VARCHAR(16) NOT NULL,
        attempt INT NOT NULL,
        outcome VARCHAR(16) NOT NULL,
        detail VARCHAR(512) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_payment_attempts_payment (payment_no, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE refunds (
        id BIGINT NOT NULL AUTO_INCREMENT,
        refund_no VARCHAR(32) NOT NULL,
        payment_no VARCHAR(32) NOT NULL,
        order_no VARCHAR(32) NOT NULL,
        channel VARCHAR(16) NOT NULL,
        amount_fen BIGINT NOT NULL,
        reason VARCHAR(256) NOT NULL,
        kind VARCHAR(24) NOT NULL,
        auto_key VARCHAR(48) NULL,
        status VARCHAR(16) NOT NULL,
        gateway_refund_no VARCHAR(64) NULL,
        query_attempts INT NOT NULL DEFAULT 0,
        next_query_at DATETIME(3) NULL,
        status_reason VARCHAR(512) NULL,
        version INT NOT NULL DEFAULT 0,
        refunded_at DATETIME(3) NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_refunds_refund_no (refund_no),
        UNIQUE KEY uq_refunds_auto_key (auto_key),
        KEY ix_refunds_payment (payment_no),
        KEY ix_refunds_next_query (next_query_at),
        CONSTRAINT ck_refunds_amount CHECK (amount_fen > 0)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(
      `ALTER TABLE orders ADD COLUMN next_check_at DATETIME(3) NULL, ADD INDEX ix_orders_next_check (next_check_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE orders DROP INDEX ix_orders_next_check, DROP COLUMN next_check_at`);
    await queryRunner.query(`DROP TABLE refunds`);
    await queryRunner.query(`DROP TABLE payment_attempts`);
    await queryRunner.query(
      `ALTER TABLE payments DROP INDEX ix_payments_next_query, ADD INDEX ix_payments_status_next_query (status, next_query_at)`,
    );
  }
}
