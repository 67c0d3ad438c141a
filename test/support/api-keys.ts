import { createConnection } from 'mysql2/promise';
import {
  API_SCOPES,
  type ApiScope,
  hashSecret,
  newApplicationId,
  newKeyId,
  newSecret,
} from '../../src/applications/api-key-secret';
import { testDatabase } from './database';

/**
 * The application every test acts as unless it says otherwise: made once per run by the global setup, and
 * sent by `http()` to the business endpoints (/api/orders, /api/payments, /api/refunds) by default.
 */
export const TEST_APPLICATION_ID = 'app_7e57000000000001';
export const TEST_API_KEY = `pcsk_ak_7e57000000000001_${'7e57'.repeat(16)}`;

export interface TestApplication {
  applicationId: string;
  keyId: string;
  secret: string;
  /** `Authorization` header for this key. */
  headers: { authorization: string };
}

async function insertKey(
  applicationId: string,
  keyId: string,
  secret: string,
  options: { scopes?: readonly ApiScope[]; expiresAt?: Date | null; revoked?: boolean } = {},
): Promise<void> {
  const db = testDatabase();
  const connection = await createConnection({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: db.name,
    timezone: 'Z',
  });
  try {
    await connection.query(
      `INSERT INTO applications (id, name, status, created_at, updated_at) VALUES (?, ?, 'ACTIVE', NOW(3), NOW(3))
       ON DUPLICATE KEY UPDATE status = 'ACTIVE'`,
      [applicationId, `test ${applicationId}`],
    );
    await connection.query(
      `INSERT INTO api_keys (key_id, application_id, name, secret_hash, scopes, expires_at, revoked_at, created_at)
       VALUES (?, ?, 'test', ?, ?, ?, ?, NOW(3))
       ON DUPLICATE KEY UPDATE secret_hash = VALUES(secret_hash), scopes = VALUES(scopes), revoked_at = NULL`,
      [
        keyId,
        applicationId,
        hashSecret(secret),
        (options.scopes ?? API_SCOPES).join(' '),
        options.expiresAt ?? null,
        options.revoked ? new Date() : null,
      ],
    );
  } finally {
    await connection.end();
  }
}

/** The default test application (global setup). */
export function ensureTestApplication(): Promise<void> {
  return insertKey(TEST_APPLICATION_ID, 'ak_7e57000000000001', TEST_API_KEY);
}

/** Another application with one key, written straight to the database (the admin API has its own tests). */
export async function newTestApplication(
  options: { scopes?: readonly ApiScope[]; expiresAt?: Date | null; revoked?: boolean } = {},
): Promise<TestApplication> {
  const applicationId = newApplicationId();
  const keyId = newKeyId();
  const secret = newSecret(keyId);
  await insertKey(applicationId, keyId, secret, options);
  return { applicationId, keyId, secret, headers: { authorization: `Bearer ${secret}` } };
}
