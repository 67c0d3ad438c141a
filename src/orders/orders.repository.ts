import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { EntityRows } from '../database/entity-rows';
import { ER_DUP_ENTRY, mysqlErrno } from '../database/transaction';
import { Order, OrderItem } from './order.entity';

const IDEMPOTENCY_KEY_INDEX = 'uq_orders_idempotency_key';

/** What checkout and payment results change on an order read under its row lock. */
const MUTABLE: readonly (keyof Order)[] = ['status', 'paymentNo', 'channel', 'nextCheckAt', 'version', 'updatedAt'];

/** All SQL on order tables, one plain statement per step (EntityRows). lock* needs the caller's transaction. */
@Injectable()
export class OrdersRepository {
  private readonly orderRows: EntityRows<Order>;
  private readonly itemRows: EntityRows<OrderItem>;
  private readonly withItemsSql: string;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.orderRows = new EntityRows(dataSource, Order);
    this.itemRows = new EntityRows(dataSource, OrderItem);
    this.withItemsSql =
      `SELECT ${this.orderRows.columnsOf('o')}, ${this.itemRows.columnsOf('i')} FROM ${this.orderRows.table} o ` +
      `JOIN ${this.itemRows.table} i ON i.order_id = o.id WHERE`;
  }

  /** The order with its lines, in one statement (every order has at least one line). */
  findByOrderNo(orderNo: string, manager?: EntityManager): Promise<Order | null> {
    return this.withItems(manager, 'o.order_no = ? ORDER BY i.line_no', [orderNo]);
  }

  /**
   * The order holding an idempotency key, with its lines, read under a shared lock: it stays as read until
   * the caller's transaction ends, and concurrent duplicates reading it do not block each other.
   */
  lockByIdempotencyKey(manager: EntityManager, key: string): Promise<Order | null> {
    return this.withItems(manager, 'o.idempotency_key = ? ORDER BY i.line_no LOCK IN SHARE MODE', [key]);
  }

  private async withItems(manager: EntityManager | undefined, where: string, values: unknown[]) {
    const rows = await this.orderRows.run<Record<string, unknown>[]>(manager, `${this.withItemsSql} ${where}`, values);
    if (rows.length === 0) return null;
    const order = this.orderRows.hydrate(rows[0], 'o');
    order.items = rows.map((row) => this.itemRows.hydrate(row, 'i'));
    return order;
  }

  /** The order an aggregate code names, without its lines. */
  findByCheckoutCode(code: string): Promise<Order | null> {
    return this.orderRows.selectOne(undefined, 'checkout_code = ?', [code]);
  }

  /** Gives the order a checkout code unless it has one; false when it had (the caller reads the one it has). */
  async setCheckoutCode(orderNo: string, code: string): Promise<boolean> {
    const result = await this.orderRows.run<{ affectedRows: number }>(
      undefined,
      'UPDATE orders SET checkout_code = ? WHERE order_no = ? AND checkout_code IS NULL',
      [code, orderNo],
    );
    return result.affectedRows === 1;
  }

  lockByOrderNo(manager: EntityManager, orderNo: string): Promise<Order | null> {
    return this.orderRows.selectOne(manager, 'order_no = ?', [orderNo], 'FOR UPDATE');
  }

  /**
   * The order, then its lines in one statement. Returns false, having written nothing, when another order
   * holds the order's idempotency key (the unique index refused it; the caller's transaction goes on).
   */
  async insert(manager: EntityManager, order: Order): Promise<boolean> {
    try {
      await this.orderRows.insert(manager, order);
    } catch (error) {
      if (mysqlErrno(error) === ER_DUP_ENTRY && (error as Error).message.includes(IDEMPOTENCY_KEY_INDEX)) return false;
      throw error;
    }
    for (const item of order.items) item.order = { id: order.id } as Order;
    await this.itemRows.insertMany(manager, order.items);
    return true;
  }

  /**
   * Frees the key from an order whose key has expired, so that it can name a new order. The UPDATE takes
   * the row's exclusive lock before anything else in its transaction touches the key.
   */
  async releaseExpiredIdempotencyKey(manager: EntityManager, key: string, now: Date): Promise<void> {
    await this.orderRows.run(
      manager,
      'UPDATE orders SET idempotency_key = NULL WHERE idempotency_key = ? AND idempotency_expires_at <= ?',
      [key, now],
    );
  }

  /**
   * A new order's first payment, as one compare-and-set: CREATED with no payment moves to `to` and points at
   * the payment, only if the row is still so (the UPDATE takes the row lock and checks). Returns whether
   * it was written; if not, the caller decides under the row lock.
   */
  async startFirstPayment(
    orderNo: string,
    change: { to: Order['status']; paymentNo: string; channel: NonNullable<Order['channel']>; nextCheckAt: Date },
    now: Date,
  ): Promise<boolean> {
    const result = await this.orderRows.run<{ affectedRows: number }>(
      undefined,
      `UPDATE orders SET status = ?, payment_no = ?, channel = ?, next_check_at = ?, version = version + 1,
         updated_at = ?
       WHERE order_no = ? AND status = 'CREATED' AND payment_no IS NULL`,
      [change.to, change.paymentNo, change.channel, change.nextCheckAt, now, orderNo],
    );
    return result.affectedRows === 1;
  }

  /** Writes an order read under its row lock, in one statement. */
  async save(manager: EntityManager, order: Order): Promise<void> {
    await this.orderRows.update(manager, order, MUTABLE);
  }
}
