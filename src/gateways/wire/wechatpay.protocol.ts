import { createCipheriv, createDecipheriv, createSign, createVerify, randomBytes, type KeyObject } from 'node:crypto';

/**
 * WeChat Pay API v3 wire rules (pay.weixin.qq.com docs; the official SDKs agree), shared by our provider
 * and the sandbox: the one place the vendor's signature and encryption formats live.
 */
export const WECHATPAY_SCHEMA = 'WECHATPAY2-SHA256-RSA2048';
/** Responses and notifications whose Wechatpay-Timestamp is this far from our clock are refused. */
export const WECHATPAY_MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/** Request signature message: METHOD\nPATH?QUERY\ntimestamp\nnonce\nbody\n (body line empty for GET). */
export function requestMessage(
  method: string,
  pathWithQuery: string,
  timestamp: string,
  nonce: string,
  body: string,
): string {
  return `${method}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** Response / notification signature message: timestamp\nnonce\nbody\n over the raw body. */
export function responseMessage(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}

/**
 * What `paySign` signs for WeChat's in-app call (JSAPI `getBrandWCPayRequest`, mini-program `wx.requestPayment`):
 * four lines, each ending in a line feed, the last too (the vendor's page "JSAPI调起支付签名").
 */
export function inAppPayMessage(appId: string, timeStamp: string, nonceStr: string, pkg: string): string {
  return `${appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`;
}

/**
 * What `sign` signs for WeChat's app SDK call (`PayReq`, APP 调起支付签名): the same four-line form, but the last
 * line is the bare prepay_id (not `prepay_id=…`), and neither `partnerid` nor `package` (`Sign=WXPay`) is signed.
 */
export function appPayMessage(appId: string, timeStamp: string, nonceStr: string, prepayId: string): string {
  return `${appId}\n${timeStamp}\n${nonceStr}\n${prepayId}\n`;
}

export function rsaSign(message: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(message).sign(privateKey, 'base64');
}

export function rsaVerify(message: string, signature: string, publicKey: KeyObject): boolean {
  try {
    return createVerify('RSA-SHA256').update(message).verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

export function newNonce(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

export function authorizationHeader(fields: {
  mchid: string;
  nonce: string;
  timestamp: string;
  serialNo: string;
  signature: string;
}): string {
  return (
    `${WECHATPAY_SCHEMA} mchid="${fields.mchid}",nonce_str="${fields.nonce}",` +
    `timestamp="${fields.timestamp}",serial_no="${fields.serialNo}",signature="${fields.signature}"`
  );
}

export function parseAuthorization(header: string | undefined): Record<string, string> | undefined {
  if (!header?.startsWith(`${WECHATPAY_SCHEMA} `)) return undefined;
  const fields: Record<string, string> = {};
  for (const match of header.slice(WECHATPAY_SCHEMA.length + 1).matchAll(/(\w+)="([^"]*)"/g)) {
    fields[match[1]] = match[2];
  }
  return fields;
}

export interface EncryptedResource {
  algorithm: 'AEAD_AES_256_GCM';
  ciphertext: string;
  associated_data: string;
  nonce: string;
  original_type: string;
}

/** Notification resource: AES-256-GCM with the APIv3 key; base64 ciphertext carries the 16-byte tag at its end. */
export function decryptResource(resource: EncryptedResource, apiV3Key: string): string {
  const data = Buffer.from(resource.ciphertext, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(resource.nonce, 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - 16));
  decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
}

export function encryptResource(
  plaintext: string,
  apiV3Key: string,
  associatedData: string,
  originalType: string,
): EncryptedResource {
  const nonce = randomBytes(6).toString('hex'); // 12 characters
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const encrypted = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: encrypted.toString('base64'),
    associated_data: associatedData,
    nonce,
    original_type: originalType,
  };
}

/** Money at the WeChat edge: `amount.total` is an integer of fen, so no conversion, but check it is one. */
export function toWechatTotal(amountFen: number): number {
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0 || amountFen > 2_147_483_647) {
    throw new RangeError(`amount ${amountFen} fen is outside WeChat Pay's range`);
  }
  return amountFen;
}

/** WeChat's times: RFC 3339 with the Beijing offset, as merchants see them in their console. */
export function toBeijingRfc3339(at: Date): string {
  return `${new Date(at.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 19)}+08:00`;
}

/** The trade bill's (bill_type=ALL) column names, in order: each data value is written with a leading backtick. */
export const TRADE_BILL_COLUMNS = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '特约商户号',
  '设备号',
  '微信订单号',
  '商户订单号',
  '用户标识',
  '交易类型',
  '交易状态',
  '付款银行',
  '货币种类',
  '应结订单金额',
  '代金券金额',
  '微信退款单号',
  '商户退款单号',
  '退款金额',
  '充值券退款金额',
  '退款类型',
  '退款状态',
  '商品名称',
  '商户数据包',
  '手续费',
  '费率',
  '订单金额',
  '申请退款金额',
  '费率备注',
] as const;

/** The first line of the summary block that ends the bill. */
export const TRADE_BILL_SUMMARY =
  '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';

export type TradeBillRow = Partial<Record<(typeof TRADE_BILL_COLUMNS)[number], string>>;

/**
 * Parses a trade bill into rows keyed by column name. The column order comes from the bill's own header;
 * values are split on "," + backtick (every value starts with a backtick, so commas inside a product name
 * do not split it). Rows end at the summary block.
 */
export function parseTradeBill(csv: string): TradeBillRow[] {
  const lines = csv.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = lines[0]?.split(',').map((name) => name.trim()) ?? [];
  const rows: TradeBillRow[] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith(TRADE_BILL_SUMMARY.slice(0, 5)) || !line.startsWith('`')) break;
    const values = line.slice(1).split(',`');
    const row: Record<string, string> = {};
    header.forEach((name, i) => (row[name] = (values[i] ?? '').trim()));
    rows.push(row);
  }
  return rows;
}
