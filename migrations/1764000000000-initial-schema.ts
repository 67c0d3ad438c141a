import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE orders (
        id BIGINT NOT NULL AUTO_INCREMENT,
        order_no VARCHAR(32) NOT NULL,
        buyer_id VARCHAR(64) NOT NULL,
        currency CHAR(3) NOT NULL,
        amount_fen BIGINT NOT NULL,
        status VARCHAR(16) NOT NULL,
        expires_at DATETIME(3) NOT NULL,
        payment_no VARCHAR(32) NULL,
        channel VARCHAR(16) NULL,
        version INT NOT NULL DEFAULT 0,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_orders_order_no (order_no),
        KEY ix_orders_buyer (buyer_id),
        CONSTRAINT ck_orders_amount CHECK (amount_fen > 0)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE order_items (
        id BIGINT NOT NULL AUTO_INCREMENT,
        order_id BIGINT NOT NULL,
        line_no INT NOT NULL,
        sku VARCHAR(64) NOT NULL,
        name VARCHAR(128) NOT NULL,
        quantity INT NOT NULL,
        unit_price_fen BIGINT NOT NULL,
        amount_fen BIGINT NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_order_items_line (order_id, line_no),
        CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
        CONSTRAINT ck_order_items_amounts CHECK (quantity > 0 AND unit_price_fen >= 0 AND amount_fen = quantity * unit_price_fen)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        \`key\` VARCHAR(66) NOT NULL,
        request_hash CHAR(64) NOT NULL,
        resource_type VARCHAR(32) NOT NULL,
        resource_id VARCHAR(64) NOT NULL,
        expires_at DATETIME(3) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (\`key\`),
        KEY ix_idempotency_keys_expires (expires_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE payment_intents (
        id BIGINT NOT NULL AUTO_INCREMENT,
        order_no VARCHAR(32) NOT NULL,
        amount_fen BIGINT NOT NULL,
        currency CHAR(3) NOT NULL,
        description VARCHAR(128) NOT NULL,
        expires_at DATETIME(3) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_payment_intents_order_no (order_no),
        CONSTRAINT ck_payment_intents_amount CHECK (amount_fen > 0)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE payments (
        id BIGINT NOT NULL AUTO_INCREMENT,
        payment_no VARCHAR(32) NOT NULL,
        order_no VARCHAR(32) NOT NULL,
        channel VARCHAR(16) NOT NULL,
        amount_fen BIGINT NOT NULL,
        currency CHAR(3) NOT NULL,
        status VARCHAR(16) NOT NULL,
        gateway_trade_no VARCHAR(64) NULL,
        pay_credential LONGTEXT NULL,
        gateway_requested_at DATETIME(3) NULL,
        query_attempts INT NOT NULL DEFAULT 0,
        next_query_at DATETIME(3) NULL,
        paid_amount_fen BIGINT NULL,
        paid_at DATETIME(3) NULL,
        closed_at DATETIME(3) NULL,
        expires_at DATETIME(3) NOT NULL,
        status_reason VARCHAR(512) NULL,
        version INT NOT NULL DEFAULT 0,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_payments_payment_no (payment_no),
        UNIQUE KEY uq_payments_channel_trade_no (channel, gateway_trade_no),
        KEY ix_payments_order_no (order_no),
        KEY ix_payments_status_next_query (status, next_query_at),
        CONSTRAINT ck_payments_amount CHECK (amount_fen > 0)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE payment_transitions (
        id BIGINT NOT NULL AUTO_INCREMENT,
        payment_no VARCHAR(32) NOT NULL,
        event VARCHAR(32) NOT NULL,
        from_status VARCHAR(16) NOT NULL,
        to_status VARCHAR(16) NOT NULL,
        version INT NOT NULL,
        detail VARCHAR(512) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_payment_transitions_payment (payment_no, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'payment_transitions',
      'payments',
      'payment_intents',
      'idempotency_keys',
      'order_items',
      'orders',
    ]) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
