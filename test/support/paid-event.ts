import type { Pool } from 'mysql2/promise';
import { http, orderBody, paymentState, type RunningApp, uniqueId } from './test-app';

/** The payment.succeeded event a paid order wrote, with its delivery records. */
export interface PaidEvent {
  eventId: string;
  paymentNo: string;
  createdAt: Date;
}

/**
 * An order made and paid through `app`'s API and real state machine (the vendor's confirmation applied as a
 * notification would be): one `payment.succeeded` event, written with a delivery per partner that takes it.
 */
export async function paidEvent(app: RunningApp, db: Pool, buyerPrefix = 'evt'): Promise<PaidEvent> {
  const order = (await http('POST', `${app.url}/api/orders`, orderBody(uniqueId(buyerPrefix)))).body;
  const payment = (await http('POST', `${app.url}/api/orders/${order.orderNo}/pay`, { channel: 'wechat' })).body;
  await paymentState(app.app).apply(payment.paymentNo, {
    type: 'PAID_CONFIRMED',
    gatewayTradeNo: uniqueId('4200'),
    paidAmountFen: payment.amountFen,
    paidAt: new Date('2026-11-25T10:00:00Z'),
  });
  const [[row]] = (await db.query(
    `SELECT event_id, created_at FROM outbox_events WHERE payment_no = ? AND type = 'payment.succeeded'`,
    [payment.paymentNo],
  )) as unknown as [{ event_id: string; created_at: Date }[]];
  return { eventId: row.event_id, paymentNo: payment.paymentNo, createdAt: row.created_at };
}
