import { BARCODE_SCENARIOS, barcodeScenario } from '../barcode-scenarios';
import {
  barcodeSvg,
  CODE128_PATTERNS,
  code128Values,
  groupDigits,
  parseScenario,
  paymentCode,
  PAYMENT_CODE_CHANNELS,
} from './payment-code';
import { escapeHtml } from './cashier.page';
import { counterCurl, paymentCodePage, paymentCodePath } from './payment-code.page';

/**
 * Each vendor's format as the Payment Center tells them apart (src/payment-center/barcode/auth-code.ts, which the
 * sandbox may not import): the ranges do not overlap, so matching one names the channel.
 */
const FORMAT = {
  wechat: /^1[0-5]\d{16}$/,
  alipay: /^(2[5-9]|30)\d{14,22}$/,
  unionpay: /^62\d{17}$/,
};

/** A `random` that walks through 0, 1, 2, … so a test sees every prefix and digit without chance. */
function counting(): (below: number) => number {
  let n = 0;
  return (below) => n++ % below;
}

describe('paymentCode', () => {
  for (const channel of PAYMENT_CODE_CHANNELS) {
    it(`${channel}: every scenario gives a ${channel} code that plays that scenario`, () => {
      for (const scenario of BARCODE_SCENARIOS) {
        for (const random of [undefined, counting(), () => 0, (below: number) => below - 1]) {
          const code = paymentCode(channel, scenario, 3, random);
          expect(code).toMatch(FORMAT[channel]);
          expect(barcodeScenario(code).scenario).toBe(scenario);
        }
      }
    });
  }

  it('writes the seconds for password_then_pays (5 by default) and rejects any outside 1–9', () => {
    for (const seconds of [1, 5, 9]) {
      expect(barcodeScenario(paymentCode('alipay', 'password_then_pays', seconds)).payAfterMs).toBe(seconds * 1000);
    }
    expect(barcodeScenario(paymentCode('wechat', 'password_then_pays')).payAfterMs).toBe(5000);
    for (const seconds of [0, 10, 2.5, NaN]) expect(() => paymentCode('wechat', 'pays', seconds)).toThrow(RangeError);
  });

  it('draws a fresh middle each time, so repeated demos do not reuse a code', () => {
    const codes = new Set(Array.from({ length: 200 }, () => paymentCode('unionpay', 'pays')));
    expect(codes.size).toBe(200);
  });

  it('reads a scenario by digit or name, nothing else', () => {
    expect(parseScenario('1')).toBe('password_then_pays');
    expect(parseScenario('reverse_unknown')).toBe('reverse_unknown');
    for (const bad of ['10', '-1', 'PAYS', '', 'toString', undefined, ['0']])
      expect(parseScenario(bad)).toBeUndefined();
  });

  it('groups the digits by four', () => {
    expect(groupDigits('6212345678901234560')).toBe('6212 3456 7890 1234 560');
  });
});

describe('Code 128 barcode', () => {
  it('has a chart that keeps the symbology’s rules: 11 modules, even bar modules, every symbol different', () => {
    expect(CODE128_PATTERNS).toHaveLength(107);
    const symbols = CODE128_PATTERNS.slice(0, 106);
    for (const pattern of symbols) {
      const widths = [...pattern].map(Number);
      expect(widths.reduce((a, b) => a + b)).toBe(11);
      expect((widths[0] + widths[2] + widths[4]) % 2).toBe(0);
      expect(widths.every((w) => w >= 1 && w <= 4)).toBe(true);
    }
    expect(new Set(symbols).size).toBe(106);
    expect([...CODE128_PATTERNS[106]].map(Number).reduce((a, b) => a + b)).toBe(13);
  });

  it('encodes digit pairs in set C with the check symbol, and an odd last digit in set B', () => {
    // Start C (105), 12, 34, check (105 + 12 + 2×34) mod 103 = 82, stop.
    expect(code128Values('1234')).toEqual([105, 12, 34, 82, 106]);
    // Start C, 12, Code B (100), '3' in set B (19), check (105 + 12 + 200 + 57) mod 103 = 65, stop.
    expect(code128Values('123')).toEqual([105, 12, 100, 19, 65, 106]);
    expect(() => code128Values('12a4')).toThrow(RangeError);
  });

  it('draws one bar per bar element, inside quiet zones', () => {
    const code = paymentCode('wechat', 'pays');
    const svg = barcodeSvg(code);
    // 9 pairs + start + check = 11 symbols of 3 bars, and the stop's 4 bars.
    expect(svg.match(/<rect x=/g)).toHaveLength(11 * 3 + 4);
    // 11 symbols × 11 modules + 13 for the stop + 2 × 10 quiet modules.
    expect(svg).toContain('viewBox="0 0 154 60"');
  });
});

describe('payment-code page', () => {
  const code = paymentCode('alipay', 'password_then_pays', 7);
  const html = paymentCodePage({
    channel: 'alipay',
    scenario: 'password_then_pays',
    seconds: 7,
    code,
    qrSvg: '<svg id="q"></svg>',
  });

  it('shows the code as barcode, QR and grouped digits, with the vendor and the scenario', () => {
    expect(html).toContain(`data-code="${code}"`);
    expect(html).toContain(`aria-label="Barcode of ${code}"`);
    expect(html).toContain('<svg id="q"></svg>');
    expect(html).toContain(groupDigits(code));
    expect(html).toContain('<span class="brand-name">Alipay</span>');
    expect(html).toContain('class="layout channel-alipay"');
    expect(html).toContain('pays after 7 s');
  });

  it('has no inline script or style: only the sandbox’s own files', () => {
    expect(html).not.toMatch(/<script(?![^>]*\bsrc="\/sandbox\/assets\/cashier\.js")/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('links every vendor and scenario to a fresh code, the seconds only for password_then_pays', () => {
    for (const channel of PAYMENT_CODE_CHANNELS) {
      expect(html).toContain(`href="${escapeHtml(paymentCodePath(channel, 'password_then_pays', 7))}"`);
    }
    for (const scenario of BARCODE_SCENARIOS) {
      expect(html).toContain(`href="${escapeHtml(paymentCodePath('alipay', scenario, 7))}"`);
    }
    expect(html).toMatch(/id="seconds-7"[^>]*aria-current="page"/);
    expect(paymentCodePath('wechat', 'pays', 7)).toBe('/sandbox/payment-code?channel=wechat&scenario=pays');
    const pays = paymentCodePage({ channel: 'wechat', scenario: 'pays', seconds: 5, code: '1', qrSvg: '' });
    expect(pays).not.toContain('id="seconds-');
  });

  it('gives the counter’s curl as README writes it', () => {
    expect(html).toContain(
      `curl -s -X POST localhost:3000/api/orders/&#60;orderNo&#62;/pay -H &#34;authorization: Bearer $PC_KEY&#34;`,
    );
    expect(counterCurl(code)).toContain(`-d '{"authCode":"${code}"}'`);
  });
});
