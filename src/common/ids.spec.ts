import { newOrderNo, newPaymentNo } from './ids';

describe('ids', () => {
  it('payment numbers fit every vendor: UnionPay orderId (8-40 letters/digits) and WeChat out_trade_no (<= 32)', () => {
    const paymentNo = newPaymentNo(new Date('2026-11-25T08:09:10Z'));
    expect(paymentNo).toMatch(/^P20261125080910\d{14}$/);
    expect(paymentNo.length).toBeLessThanOrEqual(32);
    expect(paymentNo).toMatch(/^[A-Za-z0-9]{8,40}$/);
  });

  it('does not repeat', () => {
    const at = new Date();
    const many = new Set(Array.from({ length: 10_000 }, () => newPaymentNo(at)));
    expect(many.size).toBe(10_000);
    expect(new Set(Array.from({ length: 10_000 }, newOrderNo)).size).toBe(10_000);
  });
});
