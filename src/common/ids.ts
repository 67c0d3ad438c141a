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

/**
 * A refund number is the vendor's refund request number (WeChat `out_refund_no`, Alipay `out_request_no`,
 * UnionPay's refund `orderId`): the same rules as a payment number, `R` + UTC yyyyMMddHHmmss + 14 digits.
 * It never changes for a refund, so every retry of that refund is the same request at the vendor.
 */
export function newRefundNo(at: Date): string {
  return `R${utcStamp(at)}${randomString(14, '0123456789')}`;
}

/** The creation time carried by a payment or refund number (second precision). */
export function timeOfNumber(no: string): Date | undefined {
  const stamp = /^[PR](\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\d{14}$/.exec(no);
  if (!stamp) return undefined;
  return new Date(`${stamp[1]}-${stamp[2]}-${stamp[3]}T${stamp[4]}:${stamp[5]}:${stamp[6]}Z`);
}
