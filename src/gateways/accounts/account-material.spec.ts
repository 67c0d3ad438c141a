import { generateKeyPairSync } from 'node:crypto';
import type { AppConfig } from '../../config/app-config';
import { gatewayForAccount } from './account-gateway';
import { accountProblems } from './account-material';

/** A stored WeChat Pay account's apps: its mini-programs and mobile apps, as the environment's account has them. */
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (key: typeof keys.publicKey, type: 'spki' | 'pkcs8') => key.export({ type, format: 'pem' }).toString();
const settings = {
  mchid: '1900000109',
  appid: 'wxd678efh567hg6787',
  merchantSerialNo: 'SERIAL',
  platformKeys: { PUB_KEY_ID_1: pem(keys.publicKey, 'spki') },
};
const secrets = { merchantPrivateKeyPem: pem(keys.privateKey, 'pkcs8'), apiV3Key: '0123456789abcdef0123456789abcdef' };
const config = {
  gatewayMode: 'sandbox',
  sandbox: { url: 'http://127.0.0.1:9' },
  publicBaseUrl: 'https://pc.example',
  gateways: { timeoutMs: 1000 },
} as unknown as AppConfig;

describe('a stored WeChat Pay account: its mini-programs and mobile apps', () => {
  it('takes optional lists of app ids, and names a malformed one', () => {
    const apps = { miniProgramAppIds: ['wx0000000000000001'], mobileAppIds: ['wxd930ea5d5a258f4f'] };
    expect(accountProblems('wechat', { ...settings, ...apps }, secrets)).toEqual([]);
    expect(accountProblems('wechat', { ...settings, mobileAppIds: ['wx123'] }, secrets)).toEqual([
      expect.stringMatching(/^settings\.mobileAppIds\[0\]: /),
    ]);
    expect(accountProblems('wechat', { ...settings, miniProgramAppIds: 'wxd930ea5d5a258f4f' }, secrets)).toEqual([
      expect.stringMatching(/^settings\.miniProgramAppIds: /),
    ]);
  });

  it('reach its adapter: APP payments under its mobile app, refused (naming the setting) without one', () => {
    const account = (extra: object) => ({
      id: 'shop-a',
      channel: 'wechat' as const,
      settings: { ...settings, ...extra },
    });
    const withApp = gatewayForAccount(config, account({ mobileAppIds: ['wxd930ea5d5a258f4f'] }), secrets);
    expect(withApp.payModeUnsupported({ mode: 'app' })).toBeUndefined();
    const withMini = gatewayForAccount(config, account({ miniProgramAppIds: ['wx0000000000000001'] }), secrets);
    expect(withMini.payModeUnsupported({ mode: 'mini_program', appId: 'wx0000000000000001' })).toBeUndefined();
    expect(withMini.payModeUnsupported({ mode: 'app' })).toMatch(/settings\.mobileAppIds/);
  });
});
