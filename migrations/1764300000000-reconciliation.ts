import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Statement reconciliation: each run, and every difference it found with what was done about it. */
export class Reconciliation1764300000000 implements MigrationInterface {
  name = 'Reconciliation1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE reconciliation_runs (
        id BIGINT NOT NULL AUTO_INCREMENT,
        channel VARCHAR(16) NOT NULL,
        bill_date CHAR(10) NOT NULL,
        status VARCHAR(16) NOT NULL,
        statement_lines INT NOT NULL DEFAULT 0,
        differences INT NOT NULL DEFAULT 0,
        resolved INT NOT NULL DEFAULT 0,
        review INT NOT NULL DEFAULT 0,
        error VARCHAR(512) NULL,
        triggered_by VARCHAR(64) NOT NULL,
        started_at DATETIME(3) NOT NULL,
        finished_at DATETIME(3) NULL,
        PRIMARY KEY (id),
        KEY ix_reconciliation_runs_day (channel, bill_date, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE reconciliation_differences (
        id BIGINT NOT NULL AUTO_INCREMENT,
        run_id BIGINT NOT NULL,
        kind VARCHAR(32) NOT NULL,
        payment_no VARCHAR(32) NOT NULL,
        refund_no VARCHAR(32) NULL,
        ours_fen BIGINT NULL,
        theirs_fen BIGINT NULL,
        resolution VARCHAR(16) NOT NULL,
        detail VARCHAR(512) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_reconciliation_differences_run (run_id),
        KEY ix_reconciliation_differences_payment (payment_no)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    // What we settled on a day, per channel: the other side of each statement.
    await queryRunner.query('ALTER TABLE payments ADD INDEX ix_payments_channel_paid_at (channel, paid_at)');
    await queryRunner.query('ALTER TABLE refunds ADD INDEX ix_refunds_channel_refunded_at (channel, refunded_at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE refunds DROP INDEX ix_refunds_channel_refunded_at');
    await queryRunner.query('ALTER TABLE payments DROP INDEX ix_payments_channel_paid_at');
    await queryRunner.query('DROP TABLE reconciliation_differences');
    await queryRunner.query('DROP TABLE reconciliation_runs');
  }
}
