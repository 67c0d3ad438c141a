/**
 * Order status as data, like the payment's. In this release orders move CREATED → PAYING when a payment
 * starts; PAID and CLOSED arrive from the PaymentCenter's events.
 */
export const ORDER_STATUSES = ['CREATED', 'PAYING', 'PAID', 'CLOSED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const ORDER_EVENTS = ['PAYMENT_STARTED', 'PAYMENT_SUCCEEDED', 'CLOSED'] as const;
export type OrderEvent = (typeof ORDER_EVENTS)[number];

export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, Readonly<Record<OrderEvent, OrderStatus | 'ignore'>>>> = {
  CREATED: { PAYMENT_STARTED: 'PAYING', PAYMENT_SUCCEEDED: 'PAID', CLOSED: 'CLOSED' },
  PAYING: { PAYMENT_STARTED: 'ignore', PAYMENT_SUCCEEDED: 'PAID', CLOSED: 'CLOSED' },
  PAID: { PAYMENT_STARTED: 'ignore', PAYMENT_SUCCEEDED: 'ignore', CLOSED: 'ignore' },
  // Money wins: a payment that succeeds after the order closed still makes it PAID (then fulfil or refund).
  CLOSED: { PAYMENT_STARTED: 'ignore', PAYMENT_SUCCEEDED: 'PAID', CLOSED: 'ignore' },
};
