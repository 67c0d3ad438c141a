import 'reflect-metadata';
import { createConnection, type Connection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { migrations } from '../migrations';
import { OrderIdempotencyKey1764500000000 } from '../migrations/1764500000000-order-idempotency-key';
import { ensureDatabase } from '../src/database/ensure-database';
import { dataSourceOptions } from '../src/database/typeorm-options';
import { testDatabase } from './support/database';

/**
 * The upgrade that moves an order's duplicate-submission key from idempotency_keys onto the order row, on a
 * schema of its own: a key taken before the upgrade still names its order after it (and after a revert).
 */
describe('migration: the order idempotency key moves onto the order row', () => {
  const settings = { ...testDatabase(), name: `${testDatabase().name}_migration` };
  let sql: Connection;

  beforeAll(async () => {
    const server = { host: settings.host, port: settings.port, user: settings.user, password: settings.password };
    const admin = await createConnection(server);
    await admin.query(`DROP DATABASE IF EXISTS \`${settings.name}\``);
    await admin.end();
    await ensureDatabase(settings);
    sql = await createConnection({ ...server, database: settings.name, timezone: 'Z' });
  });

  afterAll(async () => {
    await sql.query(`DROP DATABASE IF EXISTS \`${settings.name}\``);
    await sql.end();
  });

  const dataSource = (upTo: number) =>
    new DataSource({ ...dataSourceOptions({ ...settings, poolSize: 1 }), migrations: migrations.slice(0, upTo) });

  /** This migration's place in the list: the schema just before it, then with it (later ones left out). */
  const at = migrations.indexOf(OrderIdempotencyKey1764500000000);

  it('carries the keys of orders over, leaves refunds their key rows, and reverts', async () => {
    expect(at).toBeGreaterThan(0);
    const before = dataSource(at);
    await before.initialize();
    await before.runMigrations({ transaction: 'each' });
    await before.destroy();

    await sql.query(
      `INSERT INTO orders (order_no, buyer_id, currency, amount_fen, status, expires_at, version, created_at, updated_at)
       VALUES ('ord_m1', 'b', 'CNY', 100, 'CREATED', '2030-01-01', 0, NOW(3), NOW(3)),
              ('ord_m2', 'b', 'CNY', 100, 'CREATED', '2030-01-01', 0, NOW(3), NOW(3))`,
    );
    await sql.query(
      `INSERT INTO idempotency_keys (\`key\`, request_hash, resource_type, resource_id, expires_at, created_at)
       VALUES ('k:order', REPEAT('a', 64), 'order', 'ord_m1', '2030-01-01 00:00:00.000', NOW(3)),
              ('k:refund', REPEAT('b', 64), 'refund', 'rf_1', '2030-01-01 00:00:00.000', NOW(3))`,
    );

    const after = dataSource(at + 1);
    await after.initialize();
    try {
      await after.runMigrations({ transaction: 'each' });
      const [orders] = await sql.query(
        'SELECT order_no, idempotency_key, idempotency_request_hash, idempotency_expires_at FROM orders ORDER BY order_no',
      );
      expect(orders).toEqual([
        {
          order_no: 'ord_m1',
          idempotency_key: 'k:order',
          idempotency_request_hash: 'a'.repeat(64),
          idempotency_expires_at: new Date('2030-01-01T00:00:00.000Z'),
        },
        { order_no: 'ord_m2', idempotency_key: null, idempotency_request_hash: null, idempotency_expires_at: null },
      ]);
      const [keys] = await sql.query('SELECT `key`, resource_type FROM idempotency_keys ORDER BY `key`');
      expect(keys).toEqual([{ key: 'k:refund', resource_type: 'refund' }]);
      // The unique index: a second order cannot take the key.
      await expect(
        sql.query(`UPDATE orders SET idempotency_key = 'k:order' WHERE order_no = 'ord_m2'`),
      ).rejects.toMatchObject({ errno: 1062 });

      await after.undoLastMigration({ transaction: 'each' });
      const [reverted] = await sql.query(
        'SELECT `key`, resource_type, resource_id FROM idempotency_keys ORDER BY `key`',
      );
      expect(reverted).toEqual([
        { key: 'k:order', resource_type: 'order', resource_id: 'ord_m1' },
        { key: 'k:refund', resource_type: 'refund', resource_id: 'rf_1' },
      ]);
      const [columns] = await sql.query(`SHOW COLUMNS FROM orders LIKE 'idempotency%'`);
      expect(columns).toEqual([]);
    } finally {
      await after.destroy();
    }
  });
});
