import {
  afterUndecided,
  BARCODE_PROTOCOL_TABLE,
  nextReverseAt,
  PROMPT_REVERSE_ATTEMPTS,
  REVERSE_AGAIN_AFTER_MS,
  reverseAt,
} from './barcode-protocol';
import { barcodeNext, type BarcodeContext } from './barcode-steps';

const timing = { queryEveryMs: 5000, queryForMs: 30_000, reverseNotBeforeMs: 15_000 };
const payAt = new Date('2026-12-07T02:00:00Z');
const at = (seconds: number) => new Date(payAt.getTime() + seconds * 1000);

describe('the barcode protocol table', () => {
  it('calls a payment failed only on a definite refusal, and paid only on a paid answer', () => {
    const failing = Object.entries(BARCODE_PROTOCOL_TABLE).flatMap(([step, answers]) =>
      Object.entries(answers as Record<string, string>)
        .filter(([, action]) => action === 'failed')
        .map(([answer]) => `${step}:${answer}`),
    );
    expect(failing).toEqual(['pay:refused', 'query:failed']);
    expect(BARCODE_PROTOCOL_TABLE.pay.paid).toBe('paid');
    expect(BARCODE_PROTOCOL_TABLE.query.paid).toBe('paid');
  });

  it('never closes an undecided payment without a reverse', () => {
    for (const answer of ['paying', 'unknown'] as const) expect(BARCODE_PROTOCOL_TABLE.pay[answer]).toBe('ask_again');
    for (const answer of ['not_paid', 'unknown'] as const)
      expect(BARCODE_PROTOCOL_TABLE.query[answer]).toBe('ask_again');
    expect(BARCODE_PROTOCOL_TABLE.reverse).toEqual({
      closed: 'reversed',
      refunded: 'reversed_refunded',
      absent: 'closed',
      again: 'reverse_again',
      unknown: 'reverse_later',
    });
  });
});

describe('barcode timing', () => {
  it('queries every BARCODE_QUERY_EVERY within the window, then reverses', () => {
    expect(afterUndecided(at(0), payAt, timing)).toEqual({ query: at(5) });
    expect(afterUndecided(at(25), payAt, timing)).toEqual({ query: at(30) });
    expect(afterUndecided(at(26), payAt, timing)).toEqual({ reverse: at(26) });
  });

  it('a window shorter than BARCODE_REVERSE_NOT_BEFORE is stretched to it, and the reverse never comes sooner', () => {
    const short = { ...timing, queryForMs: 5000 };
    expect(afterUndecided(at(6), payAt, short)).toEqual({ query: at(11) });
    expect(afterUndecided(at(11), payAt, short)).toEqual({ reverse: at(15) });
    expect(reverseAt(at(3), payAt, timing)).toEqual(at(15));
  });

  it('a reverse asked to be repeated comes again at once; one unanswered, promptly and then on the long tail', () => {
    expect(nextReverseAt(at(40), 1, 'reverse_again', timing, [60_000])).toEqual(
      new Date(at(40).getTime() + REVERSE_AGAIN_AFTER_MS),
    );
    expect(nextReverseAt(at(40), 1, 'reverse_later', timing, [60_000])).toEqual(at(45));
    expect(nextReverseAt(at(40), PROMPT_REVERSE_ATTEMPTS, 'reverse_later', timing, [60_000, 120_000])).toEqual(at(100));
    expect(nextReverseAt(at(40), PROMPT_REVERSE_ATTEMPTS + 5, 'reverse_later', timing, [60_000, 120_000])).toEqual(
      at(160),
    );
  });
});

describe('what an answer leads to', () => {
  const context = (now: Date, attempt = 1): BarcodeContext => ({
    payAt,
    callWindowEnds: at(3.5),
    callWindowMs: 3500,
    attempt,
    now,
    timing,
    longTailMs: [60_000],
  });

  it('a paid answer is PAID with its facts; a refusal FAILED; a reversal is recorded as one', () => {
    const paid = { kind: 'paid' as const, gatewayTradeNo: 'T1', paidAmountFen: 100, paidAt: at(1) };
    expect(barcodeNext(BARCODE_PROTOCOL_TABLE, { step: 'pay', result: paid }, context(at(1)))).toEqual({
      event: { type: 'PAID_CONFIRMED', gatewayTradeNo: 'T1', paidAmountFen: 100, paidAt: at(1) },
    });
    const refused = { kind: 'refused' as const, code: 'NOT_ENOUGH', message: 'short' };
    expect(barcodeNext(BARCODE_PROTOCOL_TABLE, { step: 'pay', result: refused }, context(at(1)))).toMatchObject({
      event: { type: 'FAILED_CONFIRMED' },
    });
    expect(
      barcodeNext(
        BARCODE_PROTOCOL_TABLE,
        { step: 'reverse', result: { kind: 'refunded', gatewayTradeNo: 'T1' } },
        context(at(40)),
      ),
    ).toEqual({ reversal: { moneyReturned: true, gatewayTradeNo: 'T1' } });
  });

  it('a reverse that finds no trade closes the payment without recording a reversal (no money is taken as returned)', () => {
    expect(
      barcodeNext(BARCODE_PROTOCOL_TABLE, { step: 'reverse', result: { kind: 'absent' } }, context(at(40))),
    ).toEqual({
      event: { type: 'CLOSED_CONFIRMED' },
    });
  });

  it('an undecided query inside the window asks again; past it, the payment moves to CLOSING with the reverse due', () => {
    const unknown = { kind: 'unknown' as const, reason: 'timeout' };
    expect(barcodeNext(BARCODE_PROTOCOL_TABLE, { step: 'query', result: unknown }, context(at(10)))).toMatchObject({
      at: at(15),
    });
    expect(barcodeNext(BARCODE_PROTOCOL_TABLE, { step: 'query', result: unknown }, context(at(28)))).toMatchObject({
      event: { type: 'CLOSE_REQUESTED', nextQueryAt: at(28) },
    });
  });

  it('a reverse without an answer is repeated no sooner than its own call could still land; one to repeat at once', () => {
    const unknown = { kind: 'unknown' as const, reason: 'timeout' };
    const slow = { ...context(at(40)), callWindowMs: 12_000 };
    expect(barcodeNext(BARCODE_PROTOCOL_TABLE, { step: 'reverse', result: unknown }, slow)).toMatchObject({
      at: at(52),
    });
    expect(barcodeNext(BARCODE_PROTOCOL_TABLE, { step: 'reverse', result: unknown }, context(at(40)))).toMatchObject({
      at: at(45),
    });
    const again = { kind: 'again' as const, reason: 'USERPAYING' };
    expect(barcodeNext(BARCODE_PROTOCOL_TABLE, { step: 'reverse', result: again }, slow)).toMatchObject({ at: at(41) });
  });

  it('the reverse never comes before the pay call could still land', () => {
    const late = { ...context(at(28)), callWindowEnds: at(40) };
    const unknown = { kind: 'unknown' as const, reason: 'timeout' };
    expect(barcodeNext(BARCODE_PROTOCOL_TABLE, { step: 'query', result: unknown }, late)).toMatchObject({
      event: { type: 'CLOSE_REQUESTED', nextQueryAt: at(40) },
    });
  });
});
