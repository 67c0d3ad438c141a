import { ageSeconds, withZeros } from './gauge-samples';

describe('withZeros', () => {
  it('reports every known combination, 0 where no row has it', () => {
    const rows = [{ labels: { status: 'PAID', channel: 'wechat' }, value: 3 }];
    expect(withZeros({ status: ['PAYING', 'PAID'], channel: ['wechat', 'alipay'] }, rows)).toEqual([
      { labels: { status: 'PAYING', channel: 'wechat' }, value: 0 },
      { labels: { status: 'PAYING', channel: 'alipay' }, value: 0 },
      { labels: { status: 'PAID', channel: 'wechat' }, value: 3 },
      { labels: { status: 'PAID', channel: 'alipay' }, value: 0 },
    ]);
  });

  it('keeps rows with label values it does not know, and adds up repeated combinations', () => {
    const rows = [
      { labels: { partner: 'billing' }, value: 2 },
      { labels: { partner: 'retired' }, value: 1 },
      { labels: { partner: 'billing' }, value: 1 },
    ];
    expect(withZeros({ partner: ['orders', 'billing'] }, rows)).toEqual([
      { labels: { partner: 'orders' }, value: 0 },
      { labels: { partner: 'billing' }, value: 3 },
      { labels: { partner: 'retired' }, value: 1 },
    ]);
  });

  it('with no known values, reports just the rows', () => {
    expect(withZeros({ partner: [] }, [])).toEqual([]);
    expect(withZeros({ partner: [] }, [{ labels: { partner: 'x' }, value: 1 }])).toEqual([
      { labels: { partner: 'x' }, value: 1 },
    ]);
  });
});

describe('ageSeconds', () => {
  it('is the time since, in seconds, and never negative', () => {
    const now = new Date('2026-11-25T10:00:00.000Z');
    expect(ageSeconds(new Date('2026-11-25T09:58:29.500Z'), now)).toBe(90.5);
    expect(ageSeconds(new Date('2026-11-25T10:00:02.000Z'), now)).toBe(0);
  });
});
