import { waitFor } from './amqp';
import { http } from './test-app';

interface Channel {
  sandboxUrl: string;
  startPayment(): Promise<{ paymentNo: string }>;
  buyerPays(paymentNo: string): Promise<unknown>;
  paymentOf(paymentNo: string): Promise<{ status: string; history: { to: string }[] }>;
}

/**
 * Three trades paid in order whose notifications the sandbox delays, then sends newest first. Checks that they
 * really arrived reversed, that nothing was paid before they arrived, and that each payment became PAID once.
 */
export async function expectDelayedReversedNotificationsApplyOnce(channel: Channel): Promise<void> {
  await http('POST', `${channel.sandboxUrl}/sandbox/faults`, { reorderNotifications: 3, delayNotificationMs: 300 });
  const payments = [await channel.startPayment(), await channel.startPayment(), await channel.startPayment()];
  for (const p of payments) await channel.buyerPays(p.paymentNo);
  for (const p of payments) expect((await channel.paymentOf(p.paymentNo)).status).toBe('PAYING');
  for (const p of payments)
    await waitFor('payment PAID', async () => (await channel.paymentOf(p.paymentNo)).status === 'PAID');
  // The sandbox records a notification once our answer to it is back, which can be after the payment is PAID.
  const notificationsOf = async (paymentNo: string) =>
    (await http('GET', `${channel.sandboxUrl}/sandbox/wechat/trades/${paymentNo}`)).body.notifications as {
      at: string;
    }[];
  for (const p of payments)
    await waitFor('notification recorded', async () => (await notificationsOf(p.paymentNo)).length > 0);
  const firstSent = await Promise.all(payments.map(async (p) => (await notificationsOf(p.paymentNo))[0].at));
  expect([...firstSent].sort().reverse()).toEqual(firstSent); // the last paid was notified first
  for (const p of payments)
    expect((await channel.paymentOf(p.paymentNo)).history.filter((h) => h.to === 'PAID')).toHaveLength(1);
}
