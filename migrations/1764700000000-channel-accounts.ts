import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Several merchants on one Payment Center: channel accounts (a vendor merchant account each, its secrets
 * sealed under a KEK), which accounts an application pays with, and the account every payment, refund and
 * reconciliation run was made with. Rows from before belong to `default`: the account the environment
 * configures, so existing deployments keep working unchanged. Payments also record their application.
 */
export class ChannelAccounts1764700000000 implements MigrationInterface {
  name = 'ChannelAccounts1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE channel_accounts (
        id VARCHAR(32) NOT NULL,
        channel VARCHAR(16) NOT NULL,
        name VARCHAR(64) NOT NULL,
        status VARCHAR(16) NOT NULL,
        status_reason VARCHAR(255) NULL,
        settings JSON NOT NULL,
        secrets TEXT NOT NULL,
        kek_id VARCHAR(32) NOT NULL,
        version INT NOT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_channel_accounts_channel (channel)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE account_bindings (
        application_id VARCHAR(32) NOT NULL,
        channel VARCHAR(16) NOT NULL,
        account_id VARCHAR(32) NOT NULL,
        is_default TINYINT NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (application_id, channel, account_id),
        CONSTRAINT fk_account_bindings_application FOREIGN KEY (application_id) REFERENCES applications (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`ALTER TABLE payments ADD COLUMN account_id VARCHAR(32) NOT NULL DEFAULT 'default'`);
    // The payment carries its application, so its partner events say whose they are without another read.
    await queryRunner.query(`ALTER TABLE payments ADD COLUMN application_id VARCHAR(32) NULL`);
    await queryRunner.query(
      `UPDATE payments p JOIN payment_intents i ON i.order_no = p.order_no SET p.application_id = i.application_id`,
    );
    await queryRunner.query(`ALTER TABLE refunds ADD COLUMN account_id VARCHAR(32) NOT NULL DEFAULT 'default'`);
    await queryRunner.query(
      `ALTER TABLE reconciliation_runs ADD COLUMN account_id VARCHAR(32) NOT NULL DEFAULT 'default'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE reconciliation_runs DROP COLUMN account_id`);
    await queryRunner.query(`ALTER TABLE refunds DROP COLUMN account_id`);
    await queryRunner.query(`ALTER TABLE payments DROP COLUMN application_id`);
    await queryRunner.query(`ALTER TABLE payments DROP COLUMN account_id`);
    await queryRunner.query(`DROP TABLE account_bindings`);
    await queryRunner.query(`DROP TABLE channel_accounts`);
  }
}
