import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Events carry a per-order sequence: one counter row per order, incremented in the transaction that writes
 * each event (the row lock orders the events of one order as their changes commit). The Orders consumer
 * records the sequence of each event it processes, to tell a stale one after a channel switch.
 */
export class OrderEventSequence1764900000000 implements MigrationInterface {
  name = 'OrderEventSequence1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE order_event_sequences (
        order_no VARCHAR(32) NOT NULL,
        last_sequence INT NOT NULL,
        PRIMARY KEY (order_no)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      ALTER TABLE order_processed_events
        ADD COLUMN order_no VARCHAR(32) NULL AFTER payment_no,
        ADD COLUMN order_sequence INT NULL AFTER version,
        ADD KEY ix_order_processed_order_sequence (order_no, order_sequence)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE order_processed_events
        DROP KEY ix_order_processed_order_sequence, DROP COLUMN order_sequence, DROP COLUMN order_no`);
    await queryRunner.query(`DROP TABLE order_event_sequences`);
  }
}
