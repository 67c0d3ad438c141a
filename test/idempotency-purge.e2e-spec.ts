import { IdempotencyKeyPurger } from '../src/idempotency/idempotency-key.purger';
import { sqlPool } from './support/database';
import { type RunningApp, startApp, uniqueId } from './support/test-app';

describe('expired duplicate-submission keys are purged from the database', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp([]);
  });

  afterAll(() => running.close());

  it('deletes expired keys and keeps live ones', async () => {
    const db = sqlPool();
    try {
      const expired = `h:${uniqueId('expired')}`;
      const live = `h:${uniqueId('live')}`;
      const hash = 'a'.repeat(64);
      await db.query(
        `INSERT INTO idempotency_keys (\`key\`, request_hash, resource_type, resource_id, expires_at, created_at)
         VALUES (?, ?, 'refund', 'rf_x', NOW(3) - INTERVAL 1 MINUTE, NOW(3)), (?, ?, 'refund', 'rf_y', NOW(3) + INTERVAL 1 HOUR, NOW(3))`,
        [expired, hash, live, hash],
      );
      await running.app.get(IdempotencyKeyPurger).purgeExpired();
      const [rows] = await db.query('SELECT `key` FROM idempotency_keys WHERE `key` IN (?, ?)', [expired, live]);
      expect(rows).toEqual([{ key: live }]);
    } finally {
      await db.end();
    }
  });
});
