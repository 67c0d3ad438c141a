import { createHash } from 'node:crypto';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { newOrderNo, newPaymentNo } from '../../src/common/ids';

const ITEM = { sku: 'TEA-001', name: 'Longjing tea 250g', quantity: 2, unitPriceFen: 1250 };
const AMOUNT = ITEM.quantity * ITEM.unitPriceFen;
const EXPIRES_IN_MS = 30 * 60_000;
const FIRST_QUERY_MS = 3_600_000;
const CHECK_AFTER_MS = 60_000;

async function inTransaction<T>(pool: Pool, work: (connection: PoolConnection) => Promise<T>): Promise<T> {
  const connection = await pool.getConnection();
  try {
    await connection.query('START TRANSACTION');
    const result = await work(connection);
    await connection.query('COMMIT');
    return result;
  } catch (error) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    connection.release();
  }
}

/**
 * A checkout (create the order, then pay it with WeChat) as bare SQL: the transactions, row locks, reads
 * the decisions need and writes of OrdersService.create, OrdersService.pay and StartPaymentUseCase (plan,
 * then record the vendor's answer), in the same order, with what an ORM adds left out: the reload after
 * each INSERT, the read before each UPDATE that `save()` does, and the two-query `findOne` with relations.
 * The vendor answers at once, as InstantGateway does in the app. Returns the statements it sent.
 */
export async function rawCheckout(pool: Pool, buyerId: string): Promise<number> {
  let statements = 0;
  const q = async <T = ResultSetHeader>(c: Pool | PoolConnection, sql: string, params: unknown[] = []) => {
    statements += 1;
    const [result] = await c.query(sql, params);
    return result as T;
  };
  const now = () => new Date();

  // OrdersService.create: the order, its duplicate-submission key in a unique column, one transaction.
  const orderNo = newOrderNo();
  const body = JSON.stringify({ buyerId, items: [ITEM] });
  const requestHash = createHash('sha256').update(`POST\n/api/orders\n${body}`).digest('hex');
  const key = `h:${createHash('sha256').update(`anonymous\n${requestHash}`).digest('hex')}`;
  await inTransaction(pool, async (c) => {
    const at = now();
    statements += 2; // START TRANSACTION, COMMIT
    const expiresAt = new Date(at.getTime() + EXPIRES_IN_MS);
    const order = await q(
      c,
      `INSERT INTO orders (order_no, buyer_id, currency, amount_fen, status, expires_at, payment_no, channel,
         next_check_at, version, created_at, updated_at, idempotency_key, idempotency_request_hash,
         idempotency_expires_at)
       VALUES (?, ?, 'CNY', ?, 'CREATED', ?, NULL, NULL, ?, 0, ?, ?, ?, ?, ?)`,
      [orderNo, buyerId, AMOUNT, expiresAt, expiresAt, at, at, key, requestHash, new Date(at.getTime() + 2000)],
    );
    await q(
      c,
      `INSERT INTO order_items (line_no, sku, name, quantity, unit_price_fen, amount_fen, order_id)
       VALUES (1, ?, ?, ?, ?, ?, ?)`,
      [ITEM.sku, ITEM.name, ITEM.quantity, ITEM.unitPriceFen, AMOUNT, order.insertId],
    );
  });

  // OrdersService.pay: read the order with its items.
  const [order] = await q<RowDataPacket[]>(
    pool,
    `SELECT o.*, i.line_no, i.sku, i.name, i.quantity, i.unit_price_fen, i.amount_fen AS item_amount_fen
       FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.order_no = ?`,
    [orderNo],
  );
  const expiresAt = order.expires_at as Date;

  // StartPaymentUseCase: the intent (autocommitted), then the plan under the intent lock.
  await q(
    pool,
    `INSERT IGNORE INTO payment_intents (order_no, amount_fen, currency, description, expires_at, created_at)
     VALUES (?, ?, 'CNY', ?, ?, ?)`,
    [orderNo, AMOUNT, ITEM.name, expiresAt, now()],
  );
  const paymentNo = newPaymentNo(now());
  const startedAt = now();
  const nextQueryAt = new Date(startedAt.getTime() + FIRST_QUERY_MS);
  await inTransaction(pool, async (c) => {
    statements += 2;
    await q(c, 'SELECT * FROM payment_intents WHERE order_no = ? FOR UPDATE', [orderNo]);
    await q(c, 'SELECT * FROM payments WHERE order_no = ? ORDER BY id ASC', [orderNo]);
    // PaymentStateService.insertStarted: the payment written once, already PAYING, and its history row.
    await q(
      c,
      `INSERT INTO payments (payment_no, order_no, channel, amount_fen, currency, status, gateway_trade_no,
         pay_credential, gateway_requested_at, query_attempts, next_query_at, paid_amount_fen, paid_at, closed_at,
         expires_at, status_reason, version, created_at, updated_at)
       VALUES (?, ?, 'wechat', ?, 'CNY', 'PAYING', NULL, NULL, ?, 0, ?, NULL, NULL, NULL, ?, NULL, 1, ?, ?)`,
      [paymentNo, orderNo, AMOUNT, startedAt, nextQueryAt, expiresAt, startedAt, startedAt],
    );
    await q(
      c,
      `INSERT INTO payment_transitions (payment_no, event, from_status, to_status, version, detail, created_at)
       VALUES (?, 'START', 'CREATED', 'PAYING', 1, NULL, ?)`,
      [paymentNo, startedAt],
    );
  });

  // The vendor answered at once: record its code URL as a compare-and-set on the row as the plan left it
  // (no read back).
  const recorded = await q(
    pool,
    `UPDATE payments SET pay_credential = ?, gateway_trade_no = COALESCE(gateway_trade_no, ?),
       gateway_requested_at = NULL, status_reason = NULL, updated_at = ?
     WHERE payment_no = ? AND status = 'PAYING' AND version = 1 AND query_attempts = 0 AND next_query_at <=> ?
       AND gateway_requested_at <=> ? AND gateway_trade_no <=> NULL`,
    [
      JSON.stringify({ type: 'code_url', codeUrl: `bench://wechat/${paymentNo}` }),
      null,
      now(),
      paymentNo,
      nextQueryAt,
      startedAt,
    ],
  );
  if (recorded.affectedRows !== 1) throw new Error(`the credential of ${paymentNo} was not recorded`);

  // OrdersService.pay: a new order's first payment, as a compare-and-set on the order's row.
  const at = now();
  await q(
    pool,
    `UPDATE orders SET status = 'PAYING', payment_no = ?, channel = 'wechat', next_check_at = ?, version = version + 1,
       updated_at = ?
     WHERE order_no = ? AND status = 'CREATED' AND payment_no IS NULL`,
    [paymentNo, new Date(at.getTime() + CHECK_AFTER_MS), at, orderNo],
  );
  return statements;
}
