import type { DataSource, EntityManager } from 'typeorm';
import type { MysqlDriver } from 'typeorm/driver/mysql/MysqlDriver.js';

/** What mysql2's callback API needs: a connection of the pool, or the pool itself. */
interface Queryable {
  query(sql: string, values: unknown[], callback: (error: Error | null, result: unknown) => void): unknown;
}

/**
 * Runs one statement on the transaction's own connection (or, without a transaction, on the pool) through
 * mysql2's callback API, the way a bare mysql2 client does.
 *
 * Why not `manager.query()`: TypeORM's query runner wraps every statement in mysql2's promise API, which
 * allocates a wrapper and captures a stack trace per statement, and broadcasts subscriber events; on the
 * money path that cost more CPU than mysql2's own work. Errors are mysql2's own (with `errno`, which
 * `mysqlErrno` reads). Transactions, migrations and operators' reads stay TypeORM's.
 */
export async function runSql<T>(
  dataSource: DataSource,
  manager: EntityManager | undefined,
  sql: string,
  values: unknown[],
): Promise<T> {
  const runner = manager?.queryRunner;
  if (runner?.isReleased) throw new Error('the transaction of this statement has ended');
  // A transaction's runner holds one connection from START TRANSACTION to COMMIT; a manager without a
  // runner (dataSource.manager) sends each statement to the pool, as TypeORM does.
  const target = (runner ? await runner.connect() : (dataSource.driver as MysqlDriver).pool) as Queryable;
  return new Promise<T>((resolve, reject) => {
    target.query(sql, values, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}
