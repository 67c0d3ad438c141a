import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Notifications1764100000000 implements MigrationInterface {
  name = 'Notifications1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE outbox_events (
        id BIGINT NOT NULL AUTO_INCREMENT,
        event_id CHAR(36) NOT NULL,
        type VARCHAR(32) NOT NULL,
        payment_no VARCHAR(32) NOT NULL,
        version INT NOT NULL,
        body TEXT NOT NULL,
        occurred_at DATETIME(3) NOT NULL,
        next_attempt_at DATETIME(3) NOT NULL,
        claimed_by VARCHAR(64) NULL,
        attempts INT NOT NULL DEFAULT 0,
        last_error VARCHAR(512) NULL,
        published_at DATETIME(3) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_outbox_event_id (event_id),
        KEY ix_outbox_due (published_at, next_attempt_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE event_deliveries (
        id BIGINT NOT NULL AUTO_INCREMENT,
        event_id CHAR(36) NOT NULL,
        partner VARCHAR(40) NOT NULL,
        event_type VARCHAR(32) NOT NULL,
        status VARCHAR(16) NOT NULL,
        attempts INT NOT NULL DEFAULT 0,
        last_error VARCHAR(512) NULL,
        published_at DATETIME(3) NULL,
        failed_at DATETIME(3) NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_delivery_event_partner (event_id, partner),
        KEY ix_delivery_status_partner (status, partner, created_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE admin_audit (
        id BIGINT NOT NULL AUTO_INCREMENT,
        actor VARCHAR(64) NOT NULL,
        action VARCHAR(64) NOT NULL,
        target TEXT NOT NULL,
        affected INT NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_admin_audit_created (created_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE order_processed_events (
        event_id CHAR(36) NOT NULL,
        payment_no VARCHAR(32) NOT NULL,
        version INT NOT NULL,
        type VARCHAR(32) NOT NULL,
        outcome VARCHAR(16) NOT NULL,
        processed_at DATETIME(3) NOT NULL,
        PRIMARY KEY (event_id),
        KEY ix_order_processed_payment_version (payment_no, version)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['order_processed_events', 'admin_audit', 'event_deliveries', 'outbox_events']) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
