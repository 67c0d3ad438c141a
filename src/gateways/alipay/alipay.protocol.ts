import { createSign, createVerify, type KeyObject } from 'node:crypto';

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

/** Alipay amounts are yuan strings with two decimals; we hold integer fen. Converted here, exactly. */
export function fenToYuan(amountFen: number): string {
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0) throw new RangeError(`amount ${amountFen} fen is invalid`);
  return `${Math.floor(amountFen / 100)}.${String(amountFen % 100).padStart(2, '0')}`;
}

export function yuanToFen(yuan: string): number | undefined {
  const match = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(yuan.trim());
  if (!match) return undefined;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

/** Alipay's `yyyy-MM-dd HH:mm:ss` in Beijing time. */
export function beijingTimestamp(at: Date): string {
  return new Date(at.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

export function fromBeijingTimestamp(text: string | undefined): Date | undefined {
  if (!text || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)) return undefined;
  return new Date(`${text.replace(' ', 'T')}+08:00`);
}
