import type { PartnerConfig } from '../config/environment';
import { PAYMENT_EVENTS_EXCHANGE, partnerExchange, topicMatches } from './payment-event';

/** What a partner's filter looks at: the event's routing key and the application its payment belongs to. */
export interface EventAudience {
  type: string;
  applicationId: string | null;
}

/**
 * Why `partner`, as PARTNERS has it now, does not receive the event; undefined when it does. The outbox writer
 * records a delivery for every partner this admits; the relay and an operator's retry ask again before they
 * send, because PARTNERS may have changed since the event was written (a partner restricted meanwhile must
 * not get another application's event from a delivery recorded before).
 *
 * A restricted partner never receives an event of a payment that belongs to no application: nothing says
 * whose it is.
 */
export function whyNotDelivered(partner: PartnerConfig, event: EventAudience): string | undefined {
  if (!partner.bindings.some((binding) => topicMatches(binding, event.type))) {
    return `partner ${partner.name} is not bound to ${event.type}`;
  }
  if (partner.applications && !(event.applicationId !== null && partner.applications.includes(event.applicationId))) {
    const whose = event.applicationId === null ? 'a payment of no application' : `application ${event.applicationId}`;
    return `partner ${partner.name} receives only the events of ${partner.applications.join(', ')}, not of ${whose}`;
  }
  return undefined;
}

/**
 * Where the relay sends a partner's events: unrestricted partners share `payment.events` (their queues are
 * bound there with their patterns, one message reaches them all); a restricted partner has its own exchange,
 * and its queue is bound to nothing else (AmqpConnection.declareTopology).
 */
export function exchangeOf(partner: PartnerConfig): string {
  return partner.applications ? partnerExchange(partner.name) : PAYMENT_EVENTS_EXCHANGE;
}
