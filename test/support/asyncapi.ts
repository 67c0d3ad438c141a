import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** The payment fields docs/asyncapi.yaml promises partners. */
export function documentedPaymentFields(): string[] {
  const doc = parse(readFileSync(join(process.cwd(), 'docs', 'asyncapi.yaml'), 'utf8')) as {
    components: { schemas: { PaymentEvent: { properties: { payment: { required: string[] } } } } };
  };
  return doc.components.schemas.PaymentEvent.properties.payment.required;
}

interface Doc {
  components: {
    schemas: {
      PaymentEvent: { properties: { type: { enum: string[] }; refund: { required: string[] } } };
    };
  };
}

function doc(): Doc {
  return parse(readFileSync(join(process.cwd(), 'docs', 'asyncapi.yaml'), 'utf8')) as Doc;
}

/** The event types docs/asyncapi.yaml lists. */
export function documentedEventTypes(): string[] {
  return doc().components.schemas.PaymentEvent.properties.type.enum;
}

/** The refund fields docs/asyncapi.yaml promises on refund events. */
export function documentedRefundFields(): string[] {
  return doc().components.schemas.PaymentEvent.properties.refund.required;
}
