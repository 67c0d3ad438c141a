import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Business callers become applications with API keys, and an order and its payment intent record the
 * application that created them (ownership). Rows made before this migration belong to no application:
 * only the admin API sees them.
 */
export class Applications1764600000000 implements MigrationInterface {
  name = 'Applications1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE applications (
        id VARCHAR(32) NOT NULL,
        name VARCHAR(64) NOT NULL,
        status VARCHAR(16) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE api_keys (
        key_id VARCHAR(32) NOT NULL,
        application_id VARCHAR(32) NOT NULL,
        name VARCHAR(64) NOT NULL,
        secret_hash CHAR(64) NOT NULL,
        scopes VARCHAR(255) NOT NULL,
        expires_at DATETIME(3) NULL,
        last_used_at DATETIME(3) NULL,
        revoked_at DATETIME(3) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (key_id),
        KEY ix_api_keys_application (application_id),
        CONSTRAINT fk_api_keys_application FOREIGN KEY (application_id) REFERENCES applications (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`ALTER TABLE orders ADD COLUMN application_id VARCHAR(32) NULL`);
    await queryRunner.query(`ALTER TABLE payment_intents ADD COLUMN application_id VARCHAR(32) NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE payment_intents DROP COLUMN application_id`);
    await queryRunner.query(`ALTER TABLE orders DROP COLUMN application_id`);
    await queryRunner.query(`DROP TABLE api_keys`);
    await queryRunner.query(`DROP TABLE applications`);
  }
}
