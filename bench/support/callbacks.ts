import { randomBytes } from 'node:crypto';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { newOrderNo, newPaymentNo } from '../../src/common/ids';
import { ensureSandboxKeys } from '../../sandbox/sandbox-keys';
import { loadKey } from '../../src/gateways/wire/sandbox-key-set';
import {
  encryptResource,
  newNonce,
  responseMessage,
  rsaSign,
  toBeijingRfc3339,
} from '../../src/gateways/wire/wechatpay.protocol';
import { BENCH_KEYS_DIR } from './environment';

const AMOUNT = 2500;

export interface SeededPayment {
  id: number;
  paymentNo: string;
  orderNo: string;
}

/**
 * Inserts `count` WeChat payments waiting for their result (PAYING, with their orders' intents), in
 * multi-row statements: what checkouts would have left behind, without running them.
 */
export async function seedPayingPayments(pool: Pool, count: number): Promise<SeededPayment[]> {
  const now = new Date();
  const expiresAt = new Date(now.getTime() + 30 * 60_000);
  const nextQueryAt = new Date(now.getTime() + 3_600_000);
  const seeded = Array.from({ length: count }, () => ({ paymentNo: newPaymentNo(now), orderNo: newOrderNo() }));
  for (let start = 0; start < seeded.length; start += 1000) {
    const chunk = seeded.slice(start, start + 1000);
    await pool.query(
      `INSERT INTO payment_intents (order_no, amount_fen, currency, description, expires_at, created_at) VALUES ?`,
      [chunk.map((p) => [p.orderNo, AMOUNT, 'CNY', 'Longjing tea 250g', expiresAt, now])],
    );
    await pool.query(
      `INSERT INTO payments (payment_no, order_no, channel, amount_fen, currency, status, pay_credential,
         query_attempts, next_query_at, expires_at, version, created_at, updated_at) VALUES ?`,
      [
        chunk.map((p) => [
          p.paymentNo,
          p.orderNo,
          'wechat',
          AMOUNT,
          'CNY',
          'PAYING',
          JSON.stringify({ type: 'code_url', codeUrl: `bench://wechat/${p.paymentNo}` }),
          0,
          nextQueryAt,
          expiresAt,
          1,
          now,
          now,
        ]),
      ],
    );
  }
  const ids = await pool.query<RowDataPacket[]>('SELECT id, payment_no FROM payments WHERE payment_no IN (?)', [
    seeded.map((p) => p.paymentNo),
  ]);
  const idOf = new Map(ids[0].map((row) => [row.payment_no as string, Number(row.id)]));
  return seeded.map((p) => ({ ...p, id: idOf.get(p.paymentNo) ?? 0 }));
}

export interface SignedCallback {
  headers: Record<string, string>;
  body: string;
}

/**
 * WeChat Pay's TRANSACTION.SUCCESS notification for each payment, as the vendor sends it: the resource
 * encrypted with the APIv3 key, the body signed with the platform key (what the sandbox does).
 */
export function signedCallbacks(payments: readonly SeededPayment[]): SignedCallback[] {
  const meta = ensureSandboxKeys(BENCH_KEYS_DIR);
  const platformKey = loadKey(BENCH_KEYS_DIR, 'platformPrivate');
  return payments.map((payment) => {
    const transaction = {
      appid: meta.appid,
      mchid: meta.mchid,
      out_trade_no: payment.paymentNo,
      transaction_id: `42000${randomBytes(12).toString('hex')}`,
      trade_type: 'NATIVE',
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      success_time: toBeijingRfc3339(new Date()),
      amount: { total: AMOUNT, payer_total: AMOUNT, currency: 'CNY', payer_currency: 'CNY' },
    };
    const body = JSON.stringify({
      id: randomBytes(16).toString('hex'),
      create_time: toBeijingRfc3339(new Date()),
      resource_type: 'encrypt-resource',
      event_type: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource: encryptResource(JSON.stringify(transaction), meta.apiV3Key, 'transaction', 'transaction'),
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = newNonce();
    return {
      headers: {
        'content-type': 'application/json',
        'wechatpay-timestamp': timestamp,
        'wechatpay-nonce': nonce,
        'wechatpay-serial': meta.platformKeyId,
        'wechatpay-signature': rsaSign(responseMessage(timestamp, nonce, body), platformKey),
      },
      body,
    };
  });
}

/** The raw ceiling of a "paid" callback: the payment's row lock and the update, one short transaction. */
export async function rawLockedUpdate(connection: PoolConnection, payment: SeededPayment): Promise<void> {
  await connection.query('START TRANSACTION');
  try {
    await connection.query('SELECT * FROM payments WHERE payment_no = ? FOR UPDATE', [payment.paymentNo]);
    const now = new Date();
    await connection.query(
      `UPDATE payments SET status = 'PAID', gateway_trade_no = ?, paid_amount_fen = ?, paid_at = ?, next_query_at = NULL,
         version = version + 1, updated_at = ? WHERE id = ?`,
      [`raw-${payment.paymentNo}`, AMOUNT, now, now, payment.id],
    );
    await connection.query('COMMIT');
  } catch (error) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
