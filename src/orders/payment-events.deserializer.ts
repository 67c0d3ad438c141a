import type { ConsumerDeserializer, IncomingEvent } from '@nestjs/microservices';

/** Every payment event reaches one handler; the handler reads the type from the AMQP message itself. */
export const PAYMENT_EVENT_PATTERN = 'payment-event';

/**
 * Our events are plain JSON, not Nest envelopes, and Nest's RMQ server dispatches on a pattern inside the
 * body. This deserializer gives every message the one pattern above, so nothing is dispatched on the body's
 * shape (a body with a top-level `data` key would otherwise be taken as an envelope).
 */
export class PaymentEventDeserializer implements ConsumerDeserializer {
  deserialize(value: unknown): IncomingEvent {
    return { pattern: PAYMENT_EVENT_PATTERN, data: value };
  }
}
