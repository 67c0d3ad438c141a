import type { DataSource, EntityManager, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm';
import { runSql } from './sql';

/** TypeORM's metadata of one column, as `EntityMetadata.columns` holds it. */
type Column = EntityMetadata['columns'][number];

interface InsertResult {
  insertId: number | string;
}

const quote = (name: string) => `\`${name}\``;

/**
 * An entity's rows as one plain SQL statement per step, for the money path (checkout, callbacks, recovery).
 *
 * Statements go straight to mysql2 (runSql). Values go through TypeORM's own column conversions (its
 * driver's `prepareHydratedValue` and `preparePersistentValue`: bigint as string, DATETIME in UTC, JSON, the
 * fen transformer), so an entity read or written here is the same as one read or written by a repository
 * (test/entity-rows.e2e-spec.ts). What is left out is what made a checkout cost 30 statements and 23 ms of
 * CPU: building each query from metadata on every call, the read before every `save()`, the reload after
 * every insert, and two-query relation loads. The SQL of each statement shape is built once.
 */
export class EntityRows<T extends ObjectLiteral> {
  readonly table: string;
  private readonly metadata: EntityMetadata;
  /** Columns of the entity's own properties (a relation's join column is not read back). */
  private readonly readable: Column[];
  /** Every column but the auto-increment key. */
  private readonly writable: Column[];
  private readonly primary: Column;
  private readonly selectList: string;
  private readonly insertHead: string;
  private readonly insertRow: string;
  private readonly updates = new Map<string, { sql: string; columns: Column[] }>();

  constructor(
    private readonly dataSource: DataSource,
    target: EntityTarget<T>,
  ) {
    this.metadata = dataSource.getMetadata(target);
    this.table = quote(this.metadata.tableName);
    this.readable = this.metadata.columns.filter((c) => !c.relationMetadata);
    this.writable = this.metadata.columns.filter((c) => !(c.isGenerated && c.generationStrategy === 'increment'));
    const [primary] = this.metadata.primaryColumns;
    if (!primary || this.metadata.primaryColumns.length !== 1)
      throw new Error(`${this.metadata.name}: EntityRows needs a single-column primary key`);
    this.primary = primary;
    this.selectList = this.columnsOf();
    this.insertHead = `INSERT INTO ${this.table} (${this.writable.map((c) => quote(c.databaseName)).join(', ')})`;
    this.insertRow = `(${this.writable.map(() => '?').join(', ')})`;
  }

  /**
   * The select list of every column, optionally qualified by a table alias and named `<alias>_<column>`
   * (for a join whose rows `hydrate(row, alias)` reads back).
   */
  columnsOf(alias?: string): string {
    return this.readable
      .map((c) =>
        alias
          ? `${quote(alias)}.${quote(c.databaseName)} AS ${quote(`${alias}_${c.databaseName}`)}`
          : quote(c.databaseName),
      )
      .join(', ');
  }

  /**
   * `SELECT <every column> FROM <table> WHERE <where> <rest>`, where `rest` may order, limit or lock
   * (`FOR UPDATE` needs the caller's transaction manager).
   */
  async select(manager: EntityManager | undefined, where: string, parameters: unknown[], rest = ''): Promise<T[]> {
    const rows = await this.run<Record<string, unknown>[]>(
      manager,
      `SELECT ${this.selectList} FROM ${this.table} WHERE ${where} ${rest}`,
      parameters,
    );
    return rows.map((row) => this.hydrate(row));
  }

  /**
   * As `select`, walking the named index (`USE INDEX`): for a range scan whose order and locks must not be
   * left to the optimiser's choice.
   */
  async selectUsingIndex(
    manager: EntityManager,
    index: string,
    where: string,
    parameters: unknown[],
    rest = '',
  ): Promise<T[]> {
    const rows = await this.run<Record<string, unknown>[]>(
      manager,
      `SELECT ${this.selectList} FROM ${this.table} USE INDEX (${quote(index)}) WHERE ${where} ${rest}`,
      parameters,
    );
    return rows.map((row) => this.hydrate(row));
  }

  async selectOne(
    manager: EntityManager | undefined,
    where: string,
    parameters: unknown[],
    rest = '',
  ): Promise<T | null> {
    const [first] = await this.select(manager, where, parameters, rest);
    return first ?? null;
  }

  /** An entity from a row of `select`, or of a join that selected `columnsOf(alias)`. */
  hydrate(row: Record<string, unknown>, alias?: string): T {
    const entity = this.metadata.create() as T;
    const driver = this.dataSource.driver;
    for (const column of this.readable) {
      const value = row[alias ? `${alias}_${column.databaseName}` : column.databaseName];
      (entity as Record<string, unknown>)[column.propertyName] = driver.prepareHydratedValue(value, column);
    }
    return entity;
  }

  /** Inserts the entity and sets its generated key; returns the same object. */
  async insert(manager: EntityManager, entity: T): Promise<T> {
    const result = await this.run<InsertResult>(
      manager,
      `${this.insertHead} VALUES ${this.insertRow}`,
      this.valuesOf(entity, this.writable),
    );
    (entity as Record<string, unknown>)[this.primary.propertyName] = String(result.insertId);
    return entity;
  }

  /** Inserts several rows in one statement (their generated keys are not read back). */
  async insertMany(manager: EntityManager, entities: T[]): Promise<void> {
    if (entities.length === 0) return;
    await this.run(
      manager,
      `${this.insertHead} VALUES ${entities.map(() => this.insertRow).join(', ')}`,
      entities.flatMap((entity) => this.valuesOf(entity, this.writable)),
    );
  }

  /** Writes the named properties of an entity read before (the caller holds its row lock), by primary key. */
  async update(manager: EntityManager, entity: T, properties: readonly (keyof T & string)[]): Promise<void> {
    const { sql, columns } = this.updateOf(properties);
    await this.run(manager, sql, [...this.valuesOf(entity, columns), this.primary.getEntityValue(entity)]);
  }

  /** One statement, straight on mysql2 (see runSql); exposed for a repository's own statements on the table. */
  run<R>(manager: EntityManager | undefined, sql: string, values: unknown[]): Promise<R> {
    return runSql<R>(this.dataSource, manager, sql, values);
  }

  private updateOf(properties: readonly string[]): { sql: string; columns: Column[] } {
    const key = properties.join(',');
    let update = this.updates.get(key);
    if (!update) {
      const columns = properties.map((property) => {
        const column = this.metadata.findColumnWithPropertyName(property);
        if (!column) throw new Error(`${this.metadata.name} has no column for ${property}`);
        return column;
      });
      const assignments = columns.map((c) => `${quote(c.databaseName)} = ?`).join(', ');
      update = {
        sql: `UPDATE ${this.table} SET ${assignments} WHERE ${quote(this.primary.databaseName)} = ?`,
        columns,
      };
      this.updates.set(key, update);
    }
    return update;
  }

  private valuesOf(entity: T, columns: Column[]): unknown[] {
    const driver = this.dataSource.driver;
    return columns.map((column): unknown => driver.preparePersistentValue(column.getEntityValue(entity), column));
  }
}
