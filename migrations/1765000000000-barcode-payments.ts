import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Barcode payments: a payment says how the buyer pays (`mode`: `standard` for the QR code or page the buyer
 * opens, `barcode` for a payment code scanned at a counter), and when its trade was reversed at the vendor
 * (`reversed_at`: money the vendor later reports paid on it was returned by that reverse).
 */
export class BarcodePayments1765000000000 implements MigrationInterface {
  name = 'BarcodePayments1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE payments
        ADD COLUMN mode VARCHAR(16) NOT NULL DEFAULT 'standard' AFTER account_id,
        ADD COLUMN reversed_at DATETIME(3) NULL AFTER closed_at`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE payments DROP COLUMN reversed_at, DROP COLUMN mode`);
  }
}
