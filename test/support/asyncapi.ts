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
