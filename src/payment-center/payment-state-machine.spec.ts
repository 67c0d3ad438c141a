import {
  decide,
  isFinal,
  mayStillBePaid,
  PAYMENT_EVENTS,
  PAYMENT_STATUSES,
  PAYMENT_TRANSITIONS,
  type PaymentEventType,
  type PaymentStatus,
} from './payment-state-machine';

const ALLOWED: [PaymentStatus, PaymentEventType, PaymentStatus][] = [
  ['CREATED', 'START', 'PAYING'],
  ['CREATED', 'PAID_CONFIRMED', 'PAID'],
  ['CREATED', 'FAILED_CONFIRMED', 'FAILED'],
  ['CREATED', 'CLOSE_REQUESTED', 'CLOSED'],
  ['CREATED', 'CLOSED_CONFIRMED', 'CLOSED'],
  ['CREATED', 'REVIEW_REQUIRED', 'NEEDS_REVIEW'],
  ['PAYING', 'PAID_CONFIRMED', 'PAID'],
  ['PAYING', 'FAILED_CONFIRMED', 'FAILED'],
  ['PAYING', 'CLOSE_REQUESTED', 'CLOSING'],
  ['PAYING', 'CLOSED_CONFIRMED', 'CLOSED'],
  ['PAYING', 'REVIEW_REQUIRED', 'NEEDS_REVIEW'],
  ['FAILED', 'PAID_CONFIRMED', 'PAID'],
  ['FAILED', 'REVIEW_REQUIRED', 'NEEDS_REVIEW'],
  ['CLOSING', 'PAID_CONFIRMED', 'PAID'],
  ['CLOSING', 'FAILED_CONFIRMED', 'FAILED'],
  ['CLOSING', 'CLOSED_CONFIRMED', 'CLOSED'],
  ['CLOSING', 'REVIEW_REQUIRED', 'NEEDS_REVIEW'],
  ['CLOSED', 'PAID_CONFIRMED', 'PAID'],
  ['CLOSED', 'REVIEW_REQUIRED', 'NEEDS_REVIEW'],
  ['NEEDS_REVIEW', 'PAID_CONFIRMED', 'PAID'],
  ['NEEDS_REVIEW', 'FAILED_CONFIRMED', 'FAILED'],
  ['NEEDS_REVIEW', 'CLOSE_REQUESTED', 'CLOSING'],
  ['NEEDS_REVIEW', 'CLOSED_CONFIRMED', 'CLOSED'],
  ['CREATED', 'REVERSED_CONFIRMED', 'CLOSED'],
  ['PAYING', 'REVERSED_CONFIRMED', 'CLOSED'],
  ['CLOSING', 'REVERSED_CONFIRMED', 'CLOSED'],
  ['NEEDS_REVIEW', 'REVERSED_CONFIRMED', 'CLOSED'],
];

const ILLEGAL: [PaymentStatus, PaymentEventType][] = [
  ['PAID', 'START'],
  ['FAILED', 'START'],
  ['CLOSING', 'START'],
  ['CLOSED', 'START'],
  ['NEEDS_REVIEW', 'START'],
];

const ALL_CELLS = PAYMENT_STATUSES.flatMap((status) => PAYMENT_EVENTS.map((event) => [status, event] as const));

describe('payment state machine', () => {
  it.each(ALLOWED)('%s --%s--> %s', (from, event, to) => {
    expect(decide(from, event)).toEqual({ kind: 'move', to });
  });

  it.each(ILLEGAL)('%s refuses %s as a caller bug', (from, event) => {
    expect(decide(from, event)).toEqual({ kind: 'illegal' });
  });

  it('every other event is a no-op: repeated or stale facts write nothing', () => {
    const listed = new Set([...ALLOWED.map(([s, e]) => `${s}/${e}`), ...ILLEGAL.map(([s, e]) => `${s}/${e}`)]);
    const rest = ALL_CELLS.filter(([s, e]) => !listed.has(`${s}/${e}`));
    for (const [status, event] of rest) expect(decide(status, event)).toEqual({ kind: 'ignore' });
  });

  it('applying the same event twice is a no-op the second time (exactly-once application)', () => {
    for (const [status, event] of ALL_CELLS) {
      const first = decide(status, event);
      if (first.kind === 'move') expect(decide(first.to, event)).toEqual({ kind: 'ignore' });
    }
  });

  it('money that cannot be applied as paid goes to review from every state but PAID, never dropped', () => {
    for (const status of PAYMENT_STATUSES.filter((s) => s !== 'PAID' && s !== 'NEEDS_REVIEW')) {
      expect(decide(status, 'REVIEW_REQUIRED')).toEqual({ kind: 'move', to: 'NEEDS_REVIEW' });
    }
  });

  it('PAID is final: nothing moves a paid payment anywhere', () => {
    for (const event of PAYMENT_EVENTS) expect(decide('PAID', event).kind).not.toBe('move');
  });

  it('the money wins: a confirmed payment moves every other state to PAID', () => {
    for (const status of PAYMENT_STATUSES.filter((s) => s !== 'PAID')) {
      expect(decide(status, 'PAID_CONFIRMED')).toEqual({ kind: 'move', to: 'PAID' });
    }
  });

  it('FAILED is only reached with a definite failure from the gateway', () => {
    const intoFailed = ALL_CELLS.filter(([s, e]) => PAYMENT_TRANSITIONS[s][e] === 'FAILED').map(([, e]) => e);
    expect(new Set(intoFailed)).toEqual(new Set(['FAILED_CONFIRMED']));
  });

  it('a payment that can still be paid is exactly one that has not reached PAID, FAILED or CLOSED', () => {
    expect(PAYMENT_STATUSES.filter(mayStillBePaid)).toEqual(['CREATED', 'PAYING', 'CLOSING', 'NEEDS_REVIEW']);
  });

  it('PAID is the only final status: FAILED and CLOSED still give way to the money', () => {
    expect(PAYMENT_STATUSES.filter(isFinal)).toEqual(['PAID']);
  });
});
