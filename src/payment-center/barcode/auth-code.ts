import type { Channel } from '../../gateways/gateway.types';

/**
 * Whose app shows a payment code, from the code alone, as each vendor documents its format (docs/barcode.md
 * has the sources): WeChat Pay 18 digits beginning 10–15; Alipay 16–24 digits beginning 25–30; UnionPay (云闪付
 * and banks' apps) 19 digits beginning 62. The ranges do not overlap, so at most one channel matches.
 */
const FORMATS: readonly { channel: Channel; pattern: RegExp; rule: string }[] = [
  { channel: 'wechat', pattern: /^1[0-5]\d{16}$/, rule: '18 digits beginning 10–15' },
  { channel: 'alipay', pattern: /^(2[5-9]|30)\d{14,22}$/, rule: '16–24 digits beginning 25–30' },
  { channel: 'unionpay', pattern: /^62\d{17}$/, rule: '19 digits beginning 62' },
];

/** The channel whose format the code has, or undefined. */
export function channelOfAuthCode(authCode: string): Channel | undefined {
  return FORMATS.find((format) => format.pattern.test(authCode))?.channel;
}

/**
 * The channel a counter's code is paid through: the one named, when the code has that channel's format; else
 * the one the code's format says. Otherwise `refused`, saying why.
 */
export function barcodeChannel(authCode: string, named?: Channel): Channel | { refused: string } {
  const detected = channelOfAuthCode(authCode);
  if (named === undefined) {
    const rules = FORMATS.map((f) => `${f.channel}: ${f.rule}`).join('; ');
    return detected ?? { refused: `authCode matches no channel's payment code (${rules})` };
  }
  const format = FORMATS.find((f) => f.channel === named);
  if (format && !format.pattern.test(authCode)) {
    return { refused: `authCode is not a ${named} payment code (${format.rule})` };
  }
  return named;
}
