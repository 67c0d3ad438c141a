import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Refunds that end: an operator may send a refund in review again (`retried_at`: from then on its
 * REFUND_REVIEW_AFTER counts again), and the review list reads refunds by status.
 */
export class RefundReview1764800000000 implements MigrationInterface {
  name = 'RefundReview1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE refunds
        ADD COLUMN retried_at DATETIME(3) NULL AFTER refunded_at,
        ADD KEY ix_refunds_status_updated (status, updated_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE refunds DROP KEY ix_refunds_status_updated, DROP COLUMN retried_at`);
  }
}
