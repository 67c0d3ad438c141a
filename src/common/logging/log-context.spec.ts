import { addLogContext, currentLogContext, withLogContext } from './log-context';

describe('log context', () => {
  it('is empty outside any context, and adding to it there changes nothing', () => {
    addLogContext({ paymentNo: 'P1' });
    expect(currentLogContext()).toEqual({});
  });

  it('carries fields across awaits and lets inner code add to them', async () => {
    const seen = await withLogContext({ orderNo: 'O1' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      addLogContext({ paymentNo: 'P1' });
      await Promise.resolve();
      return currentLogContext();
    });
    expect(seen).toEqual({ orderNo: 'O1', paymentNo: 'P1' });
  });

  it('keeps concurrent contexts apart and nested ones inherit without leaking back', async () => {
    const run = (orderNo: string) =>
      withLogContext({ orderNo }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        const inner = withLogContext({ paymentNo: `${orderNo}-P` }, () => currentLogContext());
        return { inner, outer: currentLogContext() };
      });
    const [a, b] = await Promise.all([run('A'), run('B')]);
    expect(a).toEqual({ inner: { orderNo: 'A', paymentNo: 'A-P' }, outer: { orderNo: 'A' } });
    expect(b).toEqual({ inner: { orderNo: 'B', paymentNo: 'B-P' }, outer: { orderNo: 'B' } });
  });
});
