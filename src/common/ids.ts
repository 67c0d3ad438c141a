import { randomInt } from 'node:crypto';

const ALPHANUMERIC = '0123456789abcdefghijklmnopqrstuvwxyz';

function randomString(length: number, alphabet: string): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

function utcStamp(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14); // yyyyMMddHHmmss
}

/** `ord_` + 20 random base-36 characters (~103 bits): our own order number, never sent to a vendor. */
export function newOrderNo(): string {
  return `ord_${randomString(20, ALPHANUMERIC)}`;
}

/**
 * A payment number is the vendor's merchant order number (WeChat `out_trade_no`, Alipay `out_trade_no`,
 * UnionPay `orderId`), so it must satisfy all three: UnionPay allows 8-40 letters and digits only, WeChat
 * at most 32 characters. `P` + UTC yyyyMMddHHmmss + 14 random digits = 29 characters.
 */
export function newPaymentNo(at: Date): string {
  return `P${utcStamp(at)}${randomString(14, '0123456789')}`;
}
