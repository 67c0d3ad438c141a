import type { PartnerConfig } from '../config/environment';
import { exchangeOf, whyNotDelivered } from './partner-filter';
import { applicationOfEvent, eventPayment, PAYMENT_EVENTS_EXCHANGE } from './payment-event';

const partner = (bindings: string[], applications?: string[]): PartnerConfig => ({
  name: 'shop',
  bindings,
  keyId: 'shop-1',
  secret: 'x'.repeat(32),
  ...(applications ? { applications } : {}),
});

describe('whyNotDelivered', () => {
  const A = 'app_000000000000000a';
  const B = 'app_000000000000000b';

  it('an unrestricted partner takes every application and none, by its bindings', () => {
    const sut = partner(['payment.succeeded']);
    expect(whyNotDelivered(sut, { type: 'payment.succeeded', applicationId: A })).toBeUndefined();
    expect(whyNotDelivered(sut, { type: 'payment.succeeded', applicationId: null })).toBeUndefined();
    expect(whyNotDelivered(sut, { type: 'payment.failed', applicationId: A })).toBe(
      'partner shop is not bound to payment.failed',
    );
  });

  it("a restricted partner takes only its applications' events, never those of a payment of no application", () => {
    const sut = partner(['payment.#'], [A]);
    expect(whyNotDelivered(sut, { type: 'payment.refunded', applicationId: A })).toBeUndefined();
    expect(whyNotDelivered(sut, { type: 'payment.refunded', applicationId: B })).toBe(
      `partner shop receives only the events of ${A}, not of application ${B}`,
    );
    expect(whyNotDelivered(sut, { type: 'payment.refunded', applicationId: null })).toMatch(/not of a payment of no/);
    // Both filters apply: its application, but a routing key it is not bound to.
    expect(whyNotDelivered(partner(['payment.succeeded'], [A]), { type: 'payment.failed', applicationId: A })).toBe(
      'partner shop is not bound to payment.failed',
    );
  });

  it('sends a restricted partner through its own exchange, the others through payment.events', () => {
    expect(exchangeOf(partner(['payment.#']))).toBe(PAYMENT_EVENTS_EXCHANGE);
    expect(exchangeOf(partner(['payment.#'], [A]))).toBe('payment.events.partner.shop');
  });
});

describe('the application of an event', () => {
  const payment = {
    paymentNo: 'P1',
    orderNo: 'ord_1',
    channel: 'wechat' as const,
    amountFen: 100,
    currency: 'CNY' as const,
    status: 'PAID',
    gatewayTradeNo: null,
    paidAmountFen: null,
    paidAt: null,
    closedAt: null,
  };

  it('is the last field of the payment, null for a payment of no application', () => {
    expect(Object.keys(eventPayment(payment, 'app_1')).at(-1)).toBe('applicationId');
    expect(eventPayment(payment, 'app_1').applicationId).toBe('app_1');
    expect(eventPayment(payment).applicationId).toBeNull();
  });

  it('is read back from the stored body; a body written before the field has none', () => {
    expect(applicationOfEvent(JSON.stringify({ payment: eventPayment(payment, 'app_1') }))).toBe('app_1');
    expect(applicationOfEvent(JSON.stringify({ payment: eventPayment(payment, null) }))).toBeNull();
    expect(applicationOfEvent(JSON.stringify({ payment }))).toBeNull();
  });
});
