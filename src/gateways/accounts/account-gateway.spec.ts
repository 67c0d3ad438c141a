import { generateKeyPairSync } from 'node:crypto';
import type { AppConfig } from '../../config/app-config';
import { gatewayForAccount } from './account-gateway';
import { accountProblems } from './account-material';

/** A stored Alipay account's mini-programs: checked when saved, and what its adapter accepts as `appId`. */
describe('stored Alipay accounts: miniProgramAppIds', () => {
  const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const settings = {
    appId: '2021000000000001',
    alipayPublicKeyPem: alipay.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
  const secrets = { appPrivateKeyPem: app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  const config = {
    gatewayMode: 'sandbox',
    sandbox: { url: 'http://127.0.0.1:9', keysDir: '' },
    gateways: { timeoutMs: 1000 },
    publicBaseUrl: 'https://pc.example',
  } as AppConfig;

  it.each([
    [['2021000000000555'], []],
    [[], []],
    [['wx0123456789abcdef'], ['settings.miniProgramAppIds']],
    ['2021000000000555', ['settings.miniProgramAppIds']],
  ])('%j: problems %j', (miniProgramAppIds, fields) => {
    const problems = accountProblems('alipay', { ...settings, miniProgramAppIds }, secrets);
    expect(problems.map((problem) => problem.split(':')[0])).toEqual(fields);
  });

  it("reaches the account's adapter: its mini-programs may be named, others are refused (422)", () => {
    const sut = gatewayForAccount(
      config,
      { id: 'brand-b', channel: 'alipay', settings: { ...settings, miniProgramAppIds: ['2021000000000555'] } },
      secrets,
    );
    const way = (appId: string) => ({ mode: 'mini_program' as const, payerId: '2088102177846881', appId });
    expect(sut.payModeUnsupported(way('2021000000000555'))).toBeUndefined();
    expect(sut.payModeUnsupported(way('2021000000000999'))).toContain('2021000000000999');
  });
});
