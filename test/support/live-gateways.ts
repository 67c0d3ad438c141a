import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateMint, MintedCertificate } from './certificates';

/**
 * GATEWAY_MODE=live settings for all three channels, with key files made here (never real ones): what a
 * boot needs to get as far as the UnionPay trust anchors given.
 */
export function liveGatewayEnv(
  mint: CertificateMint,
  unionpay: { root: MintedCertificate; middle: MintedCertificate },
): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'pc-live-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  const pair = () =>
    generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
  const wechatMerchant = pair();
  const wechatPlatform = pair();
  const alipayApp = pair();
  const alipayPlatform = pair();
  const merchantSigner = mint.issue({ subject: '/CN=Live Test Merchant' });
  return {
    GATEWAY_MODE: 'live',
    WECHAT_MCHID: '1900000109',
    WECHAT_APPID: 'wxd678efh567hg6787',
    WECHAT_MERCHANT_SERIAL_NO: randomBytes(20).toString('hex').toUpperCase(),
    WECHAT_MERCHANT_PRIVATE_KEY_FILE: file('wechat-merchant.pem', wechatMerchant.privateKey),
    WECHAT_PLATFORM_KEYS: JSON.stringify({
      PUB_KEY_ID_0000000001: file('wechat-platform.pem', wechatPlatform.publicKey),
    }),
    WECHAT_APIV3_KEY: randomBytes(16).toString('hex'),
    ALIPAY_APP_ID: '2021000000000001',
    ALIPAY_APP_PRIVATE_KEY_FILE: file('alipay-app.pem', alipayApp.privateKey),
    ALIPAY_PUBLIC_KEY_FILE: file('alipay-public.pem', alipayPlatform.publicKey),
    UNIONPAY_MER_ID: '777290058110048',
    UNIONPAY_SIGN_KEY_FILE: merchantSigner.keyFile,
    UNIONPAY_SIGN_CERT_FILE: merchantSigner.certFile,
    UNIONPAY_ROOT_CERT_FILE: unionpay.root.certFile,
    UNIONPAY_MIDDLE_CERT_FILE: unionpay.middle.certFile,
  };
}
