import { randomUUID } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import { uniqueId } from './test-app';

/** A `payment.succeeded` event as the outbox writer stores it (documented body, a payment of no application). */
export interface TestEvent {
  eventId: string;
  paymentNo: string;
  orderNo: string;
  body: string;
}

export function succeededEvents(count: number): TestEvent[] {
  const prefix = uniqueId('E')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 16);
  return Array.from({ length: count }, (_, i) => {
    const eventId = randomUUID();
    const paymentNo = `P${prefix}${String(i).padStart(5, '0')}`;
    const orderNo = `O${prefix}${String(i).padStart(5, '0')}`;
    const body = JSON.stringify({
      id: eventId,
      type: 'payment.succeeded',
      occurredAt: new Date().toISOString(),
      version: 2,
      payment: {
        paymentNo,
        orderNo,
        channel: 'wechat',
        amountFen: 2500,
        currency: 'CNY',
        status: 'PAID',
        gatewayTradeNo: `4200${i}`,
        paidAmountFen: 2500,
        paidAt: new Date().toISOString(),
        closedAt: null,
        applicationId: null,
      },
    });
    return { eventId, paymentNo, orderNo, body };
  });
}

/** Writes the events, each with a PENDING delivery per partner, in one transaction, due now (as the writer does). */
export async function commitEvents(db: Pool, events: readonly TestEvent[], partners: readonly string[]): Promise<void> {
  const now = new Date();
  const connection = await db.getConnection();
  try {
    await connection.beginTransaction();
    await connection.query(
      `INSERT INTO outbox_events (event_id, type, payment_no, version, body, occurred_at, next_attempt_at,
         attempts, created_at) VALUES ?`,
      [events.map((e) => [e.eventId, 'payment.succeeded', e.paymentNo, 2, e.body, now, now, 0, now])],
    );
    await connection.query(
      `INSERT INTO event_deliveries (event_id, partner, event_type, status, attempts, created_at, updated_at) VALUES ?`,
      [events.flatMap((e) => partners.map((p) => [e.eventId, p, 'payment.succeeded', 'PENDING', 0, now, now]))],
    );
    await connection.commit();
  } finally {
    connection.release();
  }
}
