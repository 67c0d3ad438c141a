import { timeOfNumber } from '../ids';
import { EXAMPLE } from './examples';

describe('OpenAPI examples', () => {
  it('use the real number formats', () => {
    expect(EXAMPLE.orderNo).toMatch(/^ord_[0-9a-z]{20}$/);
    expect(EXAMPLE.paymentNo).toHaveLength(29);
    expect(EXAMPLE.refundNo).toHaveLength(29);
    expect(timeOfNumber(EXAMPLE.paymentNo)?.toISOString()).toBe(EXAMPLE.paymentCreatedAt);
    expect(timeOfNumber(EXAMPLE.refundNo)?.toISOString()).toBe(EXAMPLE.refundCreatedAt);
    expect(EXAMPLE.refundNo.startsWith('R')).toBe(true);
  });
});
