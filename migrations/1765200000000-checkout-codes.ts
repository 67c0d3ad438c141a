import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The aggregate code (聚合码): an order may carry a checkout code, the unguessable part of the one URL a buyer opens
 * in WeChat, Alipay, UnionPay's app or any browser to pay it. Unique, so a code names one order.
 */
export class CheckoutCodes1765200000000 implements MigrationInterface {
  name = 'CheckoutCodes1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE orders
        ADD COLUMN checkout_code CHAR(32) NULL AFTER channel,
        ADD UNIQUE INDEX uq_orders_checkout_code (checkout_code)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE orders DROP INDEX uq_orders_checkout_code, DROP COLUMN checkout_code`);
  }
}
