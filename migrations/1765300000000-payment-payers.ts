import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An in-app payment is made for one buyer inside one app (WeChat JSAPI and APP, Alipay trade.create): it keeps
 * them (`payer_id`, `app_id`), so a pay request for another buyer or app starts its own trade instead of resuming
 * one its client could not pay.
 */
export class PaymentPayers1765300000000 implements MigrationInterface {
  name = 'PaymentPayers1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE payments
        ADD COLUMN payer_id VARCHAR(64) NULL AFTER return_url,
        ADD COLUMN app_id VARCHAR(32) NULL AFTER payer_id`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE payments DROP COLUMN app_id, DROP COLUMN payer_id`);
  }
}
