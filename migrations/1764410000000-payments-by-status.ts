import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operators list payments by status (NEEDS_REVIEW first of all), newest change first: an index so that
 * list reads the few rows in that status instead of scanning every payment ever made.
 */
export class PaymentsByStatus1764410000000 implements MigrationInterface {
  name = 'PaymentsByStatus1764410000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX ix_payments_status_updated ON payments (status, updated_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX ix_payments_status_updated ON payments`);
  }
}
