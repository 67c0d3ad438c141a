import type { Pool } from 'mysql2/promise';
import { hashSecret } from '../../src/applications/api-key-secret';

/**
 * The benchmarks' shops, written into each bench schema after it is prepared or emptied: `bench` pays with
 * the environment's default accounts; `bench-accounts` is bound by the checkout bench to two stored accounts.
 */
const SHOPS = [
  { name: 'bench', applicationId: 'app_be4c000000000001', keyId: 'ak_be4c000000000001', fill: 'be4c' },
  { name: 'bench-accounts', applicationId: 'app_be4c000000000002', keyId: 'ak_be4c000000000002', fill: 'be4a' },
] as const;
const secretOf = (shop: (typeof SHOPS)[number]) => `pcsk_${shop.keyId}_${shop.fill.repeat(16)}`;
export const BENCH_API_KEY = secretOf(SHOPS[0]);

/** The header every business request of the benchmarks sends. */
export const BENCH_AUTH = { authorization: `Bearer ${BENCH_API_KEY}` } as const;
/** The application bound to stored channel accounts, and its header. */
export const BENCH_ACCOUNTS_APPLICATION = SHOPS[1].applicationId;
export const BENCH_ACCOUNTS_AUTH = { authorization: `Bearer ${secretOf(SHOPS[1])}` } as const;

export async function insertBenchKey(pool: Pool): Promise<void> {
  for (const shop of SHOPS) {
    await pool.query(
      `INSERT IGNORE INTO applications (id, name, status, created_at, updated_at)
       VALUES (?, ?, 'ACTIVE', NOW(3), NOW(3))`,
      [shop.applicationId, shop.name],
    );
    await pool.query(
      `INSERT IGNORE INTO api_keys (key_id, application_id, name, secret_hash, scopes, created_at)
       VALUES (?, ?, ?, ?, 'orders:write orders:read payments:read refunds:write refunds:read', NOW(3))`,
      [shop.keyId, shop.applicationId, shop.name, hashSecret(secretOf(shop))],
    );
  }
}
