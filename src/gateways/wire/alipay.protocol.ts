import { createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';

/**
 * Alipay openapi (gateway.do, RSA2) wire rules shared by our provider and the sandbox. Requests are signed
 * by alipay-sdk in the provider; these are for the sandbox's side and for money at the edge.
 */

/** Sorted `k=v&…` of every parameter except those excluded, with empty values dropped (Alipay's rule). */
export function alipaySignContent(params: Record<string, string>, exclude: readonly string[] = ['sign']): string {
  return Object.keys(params)
    .filter((key) => !exclude.includes(key) && params[key] !== '' && params[key] !== undefined)
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
}

export function rsa2Sign(content: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(privateKey, 'base64');
}

export function rsa2Verify(content: string, signature: string, publicKey: KeyObject): boolean {
  try {
    return createVerify('RSA-SHA256').update(content, 'utf8').verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

/**
 * Checks an asynchronous notification as Alipay's notification docs ("异步通知验签") describe it: RSA-SHA256
 * over every parameter but `sign` and `sign_type`, empty values dropped, sorted by key, `k=v` joined by `&`,
 * values as decoded from the form. `sign_type` is not signed, so whoever sends the form picks it: only
 * absent or RSA2 is accepted (RSA would be SHA-1), and nothing else reaches a hash function.
 */
export function verifyNotificationSign(
  params: Readonly<Record<string, string>>,
  alipayPublicKey: KeyObject,
): 'ok' | 'sign_type' | 'signature' {
  if (params.sign_type !== undefined && params.sign_type !== 'RSA2') return 'sign_type';
  if (!params.sign) return 'signature';
  return rsa2Verify(alipaySignContent(params, ['sign', 'sign_type']), params.sign, alipayPublicKey)
    ? 'ok'
    : 'signature';
}

/** Alipay's public key as its console gives it: a PEM, or the bare base64 of the SubjectPublicKeyInfo. */
export function alipayPublicKeyOf(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.includes('-----BEGIN')) return createPublicKey(trimmed);
  return createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
}

/** Alipay amounts are yuan strings with two decimals; converted to and from integer fen exactly. */
export { fenToYuan, yuanToFen } from '../../common/money';

/** Alipay writes times as `yyyy-MM-dd HH:mm:ss` in Beijing time. */
export { beijingTimestamp, fromBeijingTimestamp } from '../../common/beijing-time';

/** The detail CSV of Alipay's trade bill: the columns we read, by their header names (full-width brackets). */
export const BILL_COLUMNS = {
  tradeNo: '支付宝交易号',
  outTradeNo: '商户订单号',
  type: '业务类型',
  amount: '订单金额（元）',
  refundRequestNo: '退款批次号/请求号',
} as const;

/** The bill's full column list, in Alipay's order (the sandbox writes it; the parser reads names, not positions). */
export const BILL_HEADER = [
  '支付宝交易号',
  '商户订单号',
  '业务类型',
  '商品名称',
  '创建时间',
  '完成时间',
  '门店编号',
  '门店名称',
  '操作员',
  '终端号',
  '对方账户',
  '订单金额（元）',
  '商家实收（元）',
  '支付宝红包（元）',
  '集分宝（元）',
  '支付宝优惠（元）',
  '商家优惠（元）',
  '券核销金额（元）',
  '券名称',
  '商家红包消费金额（元）',
  '卡消费金额（元）',
  '退款批次号/请求号',
  '服务费（元）',
  '分润（元）',
  '备注',
] as const;

/**
 * Rows of the detail CSV (already decoded from GBK): `#` lines are titles and totals, the first other line
 * is the header; values are trimmed (Alipay pads id-like cells with a tab).
 */
export function parseBillDetail(text: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('#'));
  const header = (lines[0] ?? '').split(',').map((name) => name.trim());
  return lines.slice(1).map((line) => {
    const values = line.split(',');
    return Object.fromEntries(header.map((name, i) => [name, (values[i] ?? '').trim()]));
  });
}

/**
 * The text Alipay signed in a gateway.do answer `{"<key>":{…},"sign":"…"}`: the object under `key` exactly as
 * sent (Alipay's Java SDK reads the same span: JsonConverter, `getSignSourceData`). Undefined when the key is
 * absent, appears twice (a second copy could hide behind the signed one) or does not hold an object.
 */
export function alipaySignedNode(raw: string, key: string): string | undefined {
  const name = `"${key}"`;
  const at = raw.indexOf(name);
  if (at < 0 || raw.indexOf(name, at + name.length) >= 0) return undefined;
  const open = /^\s*:\s*\{/.exec(raw.slice(at + name.length));
  if (!open) return undefined;
  const start = at + name.length + open[0].length - 1;
  let depth = 0;
  let inString = false;
  for (let i = start; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return raw.slice(start, i + 1);
  }
  return undefined;
}
