import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export const APPLICATION_STATUSES = ['ACTIVE', 'DISABLED'] as const;
export type ApplicationStatus = (typeof APPLICATION_STATUSES)[number];

/**
 * A business caller of the REST API (a shop, a mini-program backend, an internal system). It owns the orders
 * it creates, their payments and refunds; a disabled application's keys are all refused.
 */
@Entity({ name: 'applications' })
export class Application {
  /** `app_` + 16 hex digits. */
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id: string;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  status: ApplicationStatus;

  /**
   * The origins (`https://host[:port]`, space-separated) of the merchant pages a pay request may name as its
   * `returnUrl`: our return page links the buyer back only there, so it can never be made an open redirect.
   */
  @Column({ name: 'return_origins', type: 'varchar', length: 1024, default: '' })
  returnOrigins: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;
}

/**
 * One API key of an application. The secret is shown once, at creation; only its SHA-256 is kept (the
 * secret carries 256 random bits, so a fast hash is enough: there is nothing to brute-force). Several keys
 * can be active at once, so a caller rotates by adding a key, switching, then revoking the old one.
 */
@Entity({ name: 'api_keys' })
export class ApiKey {
  /** `ak_` + 16 hex digits; public (it appears in the secret and in logs). */
  @PrimaryColumn({ name: 'key_id', type: 'varchar', length: 32 })
  keyId: string;

  @Index('ix_api_keys_application')
  @Column({ name: 'application_id', type: 'varchar', length: 32 })
  applicationId: string;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  /** Hex SHA-256 of the whole secret. */
  @Column({ name: 'secret_hash', type: 'char', length: 64 })
  secretHash: string;

  /** Space-separated scopes (see API_SCOPES). */
  @Column({ type: 'varchar', length: 255 })
  scopes: string;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3, nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'last_used_at', type: 'datetime', precision: 3, nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'datetime', precision: 3, nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}
