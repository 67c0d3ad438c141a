import type { Pool } from 'mysql2/promise';
import { hashSecret } from '../../src/applications/api-key-secret';

/** The benchmark's shop: one application and key, written into each bench schema after it is prepared or emptied. */
const BENCH_APPLICATION_ID = 'app_be4c000000000001';
const BENCH_KEY_ID = 'ak_be4c000000000001';
export const BENCH_API_KEY = `pcsk_${BENCH_KEY_ID}_${'be4c'.repeat(16)}`;

/** The header every business request of the benchmarks sends. */
export const BENCH_AUTH = { authorization: `Bearer ${BENCH_API_KEY}` } as const;

export async function insertBenchKey(pool: Pool): Promise<void> {
  await pool.query(
    `INSERT IGNORE INTO applications (id, name, status, created_at, updated_at)
     VALUES (?, 'bench', 'ACTIVE', NOW(3), NOW(3))`,
    [BENCH_APPLICATION_ID],
  );
  await pool.query(
    `INSERT IGNORE INTO api_keys (key_id, application_id, name, secret_hash, scopes, created_at)
     VALUES (?, ?, 'bench', ?, 'orders:write orders:read payments:read refunds:write refunds:read', NOW(3))`,
    [BENCH_KEY_ID, BENCH_APPLICATION_ID, hashSecret(BENCH_API_KEY)],
  );
}
