import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Notification intake: the ids of vendor notifications applied (a replay is acknowledged, not applied again),
 * and verified notifications for payment numbers we do not know (orphans, kept for an operator and for
 * reconciliation instead of being refused for a day of resends).
 */
export class NotificationIntake1764610000000 implements MigrationInterface {
  name = 'NotificationIntake1764610000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE applied_notifications (
        channel VARCHAR(16) NOT NULL,
        notification_id VARCHAR(64) NOT NULL,
        applied_at DATETIME(3) NOT NULL,
        PRIMARY KEY (channel, notification_id),
        KEY ix_applied_notifications_applied_at (applied_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE orphan_notifications (
        id BIGINT NOT NULL AUTO_INCREMENT,
        channel VARCHAR(16) NOT NULL,
        payment_no VARCHAR(64) NOT NULL,
        gateway_trade_no VARCHAR(64) NOT NULL DEFAULT '',
        result VARCHAR(16) NOT NULL,
        amount_fen BIGINT NULL,
        raw_body MEDIUMTEXT NOT NULL,
        times_received INT NOT NULL DEFAULT 1,
        received_at DATETIME(3) NOT NULL,
        last_received_at DATETIME(3) NOT NULL,
        linked_at DATETIME(3) NULL,
        linked_detail VARCHAR(256) NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_orphan_notifications_trade (channel, payment_no, gateway_trade_no),
        KEY ix_orphan_notifications_received (received_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE orphan_notifications');
    await queryRunner.query('DROP TABLE applied_notifications');
  }
}
