import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GET /metrics reads payments by status and channel, and the oldest PAYING / CLOSING one, on every scrape.
 * This index answers the first from the index alone (no table rows, no temporary table: 1.1 s → 0.12 s on
 * 300 000 payments here) and the second by a loose index scan (reading one entry per status and channel).
 */
export class PaymentsStatusChannel1764420000000 implements MigrationInterface {
  name = 'PaymentsStatusChannel1764420000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX ix_payments_status_channel_created ON payments (status, channel, created_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX ix_payments_status_channel_created ON payments`);
  }
}
