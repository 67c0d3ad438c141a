import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  DEAD_LETTER_EXCHANGE,
  PAYMENT_EVENT_TYPES,
  PAYMENT_EVENTS_EXCHANGE,
  partnerQueue,
  SIGNATURE_HEADER,
  SIGNATURE_TOLERANCE_SECONDS,
} from './payment-event';

type Doc = {
  channels: Record<string, { address: string }>;
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

  it('names the exchange, the partner queue and the dead-letter exchange the code declares', () => {
    expect(doc.channels.paymentEvents.address).toBe(PAYMENT_EVENTS_EXCHANGE);
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
    expect(doc.components.schemas.PaymentEvent.required).toEqual(['id', 'type', 'occurredAt', 'version', 'payment']);
  });
});
