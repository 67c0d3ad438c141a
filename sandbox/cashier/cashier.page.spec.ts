import type { SandboxTrade } from '../sandbox-trades';
import { cashierPage, escapeHtml, FAULT_SWITCHES, messagePage, payPath } from './cashier.page';

function trade(overrides: Partial<SandboxTrade> = {}): SandboxTrade {
  return {
    channel: 'wechat',
    outTradeNo: 'P20260101000000000000000001',
    owner: 'wechat:1900000001',
    mchid: '1900000001',
    appid: 'wx0000000000000001',
    description: 'Longjing tea 250g',
    amountFen: 2500,
    notifyUrl: 'http://127.0.0.1/notify',
    state: 'NOTPAY',
    notifications: [],
    ...overrides,
  };
}

const HOSTILE = `<script>alert("x")</script>' onload='x`;

describe('cashier page', () => {
  it('shows the amount in yuan from fen, the merchant, the subject and the payment number', () => {
    const sut = cashierPage({ trade: trade({ amountFen: 1 }), tradeFaults: {} });
    expect(sut).toContain('¥0.01');
    expect(sut).toContain('1900000001');
    expect(sut).toContain('Longjing tea 250g');
    expect(sut).toContain('P20260101000000000000000001');
    expect(cashierPage({ trade: trade({ amountFen: 123456 }), tradeFaults: {} })).toContain('¥1234.56');
  });

  it('shows a phone browser’s page (WeChat H5, Alipay WAP) phone-sized, others not', () => {
    const phone = (t: SandboxTrade) => cashierPage({ trade: t, tradeFaults: {} }).includes('device-phone');
    expect(phone(trade({ h5: true }))).toBe(true);
    expect(phone(trade({ channel: 'alipay', alipayFlow: { kind: 'wap' } }))).toBe(true);
    expect(phone(trade({ channel: 'alipay', alipayFlow: { kind: 'page' } }))).toBe(false);
    expect(phone(trade())).toBe(false);
  });

  it('links back to the merchant once the vendor says where, escaped', () => {
    expect(cashierPage({ trade: trade(), tradeFaults: {} })).not.toContain('id="return-link"');
    const sut = cashierPage({
      trade: trade({ returnTo: `https://shop.example/r?a=1&b="${HOSTILE}` }),
      tradeFaults: {},
    });
    expect(sut).toContain(`id="return-link" href="${escapeHtml(`https://shop.example/r?a=1&b="${HOSTILE}`)}"`);
    expect(sut).not.toContain(HOSTILE);
  });

  it('names the merchant the buyer pays: a service provider’s sub-merchant, an ISV app’s authorising merchant', () => {
    const partner = trade({ mchid: '1230000109', wechatPartner: { subMchid: '1900000199' } });
    expect(cashierPage({ trade: partner, tradeFaults: {} })).toContain('1900000199 (service provider 1230000109)');
    const isv = trade({
      channel: 'alipay',
      mchid: '',
      appid: '2021000000000001',
      alipay: { authAppId: '2021000000000002', sellerId: '2088000000000002' },
    });
    expect(cashierPage({ trade: isv, tradeFaults: {} })).toContain('2021000000000002 (via app 2021000000000001)');
  });

  it('escapes every value that comes from the merchant', () => {
    const sut = cashierPage({
      trade: trade({ description: HOSTILE, outTradeNo: HOSTILE, mchid: HOSTILE, codeUrl: HOSTILE }),
      tradeFaults: {},
      qrSvg: '<svg></svg>',
    });
    expect(sut).not.toContain('<script>alert');
    expect(sut).not.toContain(`' onload='`);
    expect(sut).toContain(escapeHtml(HOSTILE));
    // The payment number in the pay form's URL is percent-encoded, then escaped.
    expect(sut).toContain(`action="${escapeHtml(payPath({ channel: 'wechat', outTradeNo: HOSTILE }))}"`);
    expect(messagePage(HOSTILE, HOSTILE)).not.toContain('<script>alert');
  });

  it('draws the QR code for the QR flows and a test card for UnionPay', () => {
    const qr = cashierPage({
      trade: trade({ codeUrl: 'weixin://wxpay/bizpayurl?pr=1' }),
      tradeFaults: {},
      qrSvg: '<svg id="q"></svg>',
    });
    expect(qr).toContain('<svg id="q"></svg>');
    expect(qr).toContain('data-code-url="weixin://wxpay/bizpayurl?pr=1"');
    const card = cashierPage({ trade: trade({ channel: 'unionpay', description: '' }), tradeFaults: {} });
    expect(card).not.toContain('<svg');
    expect(card).toContain('id="card"');
    expect(card).not.toContain('Subject');
    expect(card).toContain('action="/sandbox/unionpay/trades/P20260101000000000000000001/pay"');
  });

  it('shows a phone page for a phone trade, and links back to the merchant’s return page (http(s) only)', () => {
    const phone = cashierPage({
      trade: trade({ channel: 'unionpay', phone: true, returnUrl: 'https://pc.example/pay/return/P1?a=1&b=2' }),
      tradeFaults: {},
    });
    expect(phone).toContain('class="layout channel-unionpay device-phone"');
    expect(phone).toContain('<a id="return-link" href="https://pc.example/pay/return/P1?a=1&#38;b=2">');
    const pc = cashierPage({ trade: trade({ channel: 'unionpay' }), tradeFaults: {} });
    expect(pc).not.toContain('device-phone');
    expect(pc).not.toContain('return-link');
    const script = cashierPage({ trade: trade({ returnUrl: 'javascript:alert(1)' }), tradeFaults: {} });
    expect(script).not.toContain('return-link');
  });

  it('links a WeChat H5 trade back to the redirect_url of its page (http(s) only, escaped); no other trade', () => {
    const back = 'https://pc.example/pay/return/P1?a=1&b=2';
    const h5 = cashierPage({ trade: trade({ h5: true }), tradeFaults: {}, redirectUrl: back });
    expect(h5).toContain('<a id="return-link" href="https://pc.example/pay/return/P1?a=1&#38;b=2">');
    const native = cashierPage({ trade: trade({ codeUrl: 'weixin://x' }), tradeFaults: {}, redirectUrl: back });
    expect(native).not.toContain('return-link');
    const script = cashierPage({ trade: trade({ h5: true }), tradeFaults: {}, redirectUrl: 'javascript:alert(1)' });
    expect(script).not.toContain('return-link');
    const hostile = cashierPage({ trade: trade({ h5: true }), tradeFaults: {}, redirectUrl: `https://x/"${HOSTILE}` });
    expect(hostile).not.toContain(HOSTILE);
  });

  it('disables pay once the trade is paid or closed and shows the expiry for the countdown', () => {
    expect(cashierPage({ trade: trade(), tradeFaults: {} })).not.toMatch(/id="pay"[^>]*disabled/);
    expect(cashierPage({ trade: trade({ state: 'SUCCESS' }), tradeFaults: {} })).toMatch(/id="pay"[^>]*disabled/);
    const expiring = cashierPage({ trade: trade({ payTimeout: new Date('2026-01-01T00:30:00Z') }), tradeFaults: {} });
    expect(expiring).toContain('data-expires-at="2026-01-01T00:30:00.000Z"');
    expect(expiring).toContain('id="countdown"');
  });

  it('has a switch per fault, vendor-specific ones only for their vendor, set from the trade’s faults', () => {
    const wechat = cashierPage({ trade: trade(), tradeFaults: { duplicateNotifications: 3, badSignature: true } });
    expect(wechat).toMatch(/id="fault-duplicateNotifications"[^>]* value="3"/);
    expect(wechat).toMatch(/id="fault-badSignature"[^>]* checked/);
    expect(wechat).toContain('data-fault="legacyPlatformCertificate"');
    expect(wechat).not.toContain('data-fault="systemError"');
    const alipay = cashierPage({ trade: trade({ channel: 'alipay' }), tradeFaults: {} });
    expect(alipay).toContain('data-fault="systemError"');
    for (const key of Object.keys(FAULT_SWITCHES).filter((k) => k !== 'legacyPlatformCertificate'))
      expect(alipay).toContain(`data-fault="${key}"`);
  });
});
