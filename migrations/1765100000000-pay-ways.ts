import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ways to pay beside the QR code: a payment started from a page remembers the merchant's page its buyer goes
 * back to (`return_url`), and an application lists the origins such pages may be on (`return_origins`,
 * space-separated `https://host[:port]`); a return URL on any other origin is refused.
 */
export class PayWays1765100000000 implements MigrationInterface {
  name = 'PayWays1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE payments ADD COLUMN return_url VARCHAR(512) NULL AFTER mode`);
    await queryRunner.query(
      `ALTER TABLE applications ADD COLUMN return_origins VARCHAR(1024) NOT NULL DEFAULT '' AFTER status`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE applications DROP COLUMN return_origins`);
    await queryRunner.query(`ALTER TABLE payments DROP COLUMN return_url`);
  }
}
