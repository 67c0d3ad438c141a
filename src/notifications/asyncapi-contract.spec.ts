import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  DEAD_LETTER_EXCHANGE,
  eventPayment,
  PAYMENT_EVENT_TYPES,
  PAYMENT_EVENTS_EXCHANGE,
  partnerExchange,
  partnerQueue,
  SIGNATURE_HEADER,
  SIGNATURE_TOLERANCE_SECONDS,
} from './payment-event';

type Doc = {
  channels: Record<string, { address: string; bindings: { amqp: { exchange?: { name: string; type: string } } } }>;
  components: {
    messages: Record<string, { name: string }>;
    schemas: {
      Headers: { properties: Record<string, unknown> };
      PaymentEvent: {
        required: string[];
        properties: { type: { enum: string[] }; payment: { required: string[] } };
      };
    };
  };
  info: { description: string };
};

/** docs/asyncapi.yaml is what partners code against: it must say what the code does. */
describe('the AsyncAPI document matches the code', () => {
  const doc = parse(readFileSync(join(process.cwd(), 'docs', 'asyncapi.yaml'), 'utf8')) as Doc;

  it('names the exchanges, the partner queue and the dead-letter exchange the code declares', () => {
    expect(doc.channels.paymentEvents.address).toBe(PAYMENT_EVENTS_EXCHANGE);
    expect(doc.channels.restrictedPartnerEvents.address).toBe(partnerExchange('{partner}'));
    expect(doc.channels.restrictedPartnerEvents.bindings.amqp.exchange).toMatchObject({
      name: partnerExchange('{partner}'),
      type: 'fanout', // AmqpConnection.declareTopology
    });
    expect(doc.channels.partnerQueue.address).toBe(partnerQueue('{partner}'));
    expect(doc.info.description).toContain(DEAD_LETTER_EXCHANGE);
  });

  it('lists exactly the routing keys the code publishes', () => {
    expect(doc.components.schemas.PaymentEvent.properties.type.enum).toEqual([...PAYMENT_EVENT_TYPES]);
    expect(Object.values(doc.components.messages).map((m) => m.name)).toEqual([...PAYMENT_EVENT_TYPES]);
  });

  it('documents the signature header and its tolerance', () => {
    expect(Object.keys(doc.components.schemas.Headers.properties)).toEqual([SIGNATURE_HEADER]);
    expect(SIGNATURE_TOLERANCE_SECONDS).toBe(24 * 3600);
    expect(JSON.stringify(doc.components.schemas.Headers)).toContain('24 hours');
  });

  it('requires the body fields the code writes', () => {
    expect(doc.components.schemas.PaymentEvent.required).toEqual([
      'id',
      'type',
      'occurredAt',
      'version',
      'orderSequence',
      'payment',
    ]);
  });

  it("lists the payment's fields in the order the code writes them, as docs/events.md does", () => {
    const written = Object.keys(eventPayment(samplePayment, 'app_1'));
    expect(doc.components.schemas.PaymentEvent.properties.payment.required).toEqual(written);
    const events = readFileSync(join(process.cwd(), 'docs', 'events.md'), 'utf8').replace(/\s+/g, ' ');
    expect(events).toContain(`payment: { ${written.join(', ')} }`);
  });
});

const samplePayment = {
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
