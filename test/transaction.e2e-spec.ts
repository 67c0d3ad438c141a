import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { afterCommit, inTransaction } from '../src/database/transaction';
import { sqlPool, testDatabase } from './support/database';

/**
 * Effects after commit (`afterCommit`) against MariaDB: they run once the transaction has committed (its
 * row visible to another connection), never for a transaction that rolled back or an attempt that was
 * retried, and a failing effect does not turn a committed change into an error.
 */
describe('inTransaction and afterCommit (integration)', () => {
  let dataSource: DataSource;
  let observer: Pool;

  beforeAll(async () => {
    const db = testDatabase();
    dataSource = new DataSource({
      type: 'mysql',
      host: db.host,
      port: db.port,
      username: db.user,
      password: db.password,
      database: db.name,
    });
    await dataSource.initialize();
    observer = sqlPool();
    await dataSource.query(
      'CREATE TABLE IF NOT EXISTS test_after_commit (marker VARCHAR(64) PRIMARY KEY) ENGINE=InnoDB',
    );
  });

  afterAll(async () => {
    await observer.end();
    await dataSource.destroy();
  });

  const committed = async (marker: string): Promise<boolean> => {
    const [rows] = await observer.query('SELECT marker FROM test_after_commit WHERE marker = ?', [marker]);
    return (rows as unknown[]).length === 1;
  };

  it('runs effects in order once the transaction has committed, before inTransaction returns', async () => {
    const marker = randomUUID();
    const seen: string[] = [];
    const result = await inTransaction(dataSource, async (manager) => {
      await manager.query('INSERT INTO test_after_commit (marker) VALUES (?)', [marker]);
      afterCommit(manager, async () => seen.push(`first, row visible: ${await committed(marker)}`));
      afterCommit(manager, () => seen.push('second'));
      seen.push('work done');
      return 42;
    });
    expect(result).toBe(42);
    expect(seen).toEqual(['work done', 'first, row visible: true', 'second']);
  });

  it('runs no effect of a transaction that rolled back', async () => {
    const marker = randomUUID();
    const seen: string[] = [];
    await expect(
      inTransaction(dataSource, async (manager) => {
        await manager.query('INSERT INTO test_after_commit (marker) VALUES (?)', [marker]);
        afterCommit(manager, () => seen.push('effect'));
        throw new Error('the work failed');
      }),
    ).rejects.toThrow('the work failed');
    expect(seen).toEqual([]);
    expect(await committed(marker)).toBe(false);
  });

  it('runs only the effects of the attempt that committed when a deadlock victim is retried', async () => {
    const seen: number[] = [];
    let attempt = 0;
    await inTransaction(dataSource, (manager) => {
      attempt += 1;
      afterCommit(manager, () => seen.push(attempt));
      if (attempt === 1) throw Object.assign(new Error('Deadlock found when trying to get lock'), { errno: 1213 });
      return Promise.resolve();
    });
    expect(attempt).toBe(2);
    expect(seen).toEqual([2]);
  });

  it('keeps the commit and the other effects when one effect throws', async () => {
    const marker = randomUUID();
    const seen: string[] = [];
    await inTransaction(dataSource, async (manager) => {
      await manager.query('INSERT INTO test_after_commit (marker) VALUES (?)', [marker]);
      afterCommit(manager, () => {
        throw new Error('Redis is down');
      });
      afterCommit(manager, () => seen.push('still run'));
    });
    expect(seen).toEqual(['still run']);
    expect(await committed(marker)).toBe(true);
  });

  it('refuses an effect outside a transaction of inTransaction, so none is silently dropped', async () => {
    await expect(
      dataSource.transaction((manager) => Promise.resolve(afterCommit(manager, () => undefined))),
    ).rejects.toThrow('afterCommit needs a transaction opened by inTransaction');
    expect(() => afterCommit(dataSource.manager, () => undefined)).toThrow('afterCommit needs a transaction');
  });
});
