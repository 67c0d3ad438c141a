import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { CertificateMint } from '../../test/support/certificates';
import { liveGatewayEnv } from '../../test/support/live-gateways';
import { AppConfig } from '../config/app-config';
import { InvalidEnvironment, validateEnvironment } from '../config/environment';
import { createGateways } from './gateway-factory';

describe('createGateways: the UnionPay trust anchors at boot', () => {
  const mint = new CertificateMint();
  const day = 24 * 3600 * 1000;
  const root = mint.issue({ subject: '/CN=Live Root', ca: true });
  const middle = mint.issue({ subject: '/CN=Live Middle', ca: true, issuer: root });

  function configOf(env: Record<string, string>): AppConfig {
    const validated = validateEnvironment(env) as unknown as Record<string, unknown>;
    return new AppConfig({ get: (key: string) => validated[key] } as never);
  }

  afterEach(() => jest.restoreAllMocks());

  it('builds the live adapters from a chain in its validity period, without a warning', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const gateways = createGateways(configOf(liveGatewayEnv(mint, { root, middle })));
    expect(gateways.map((gateway) => gateway.channel)).toEqual(['wechat', 'alipay', 'unionpay']);
    expect(warn).not.toHaveBeenCalled();
  });

  it('refuses to start with an expired root, naming the setting and the date', () => {
    const expired = mint.issue({
      subject: '/CN=Old Root',
      ca: true,
      notBefore: new Date(Date.now() - 900 * day),
      notAfter: new Date(Date.now() - day),
    });
    const env = liveGatewayEnv(mint, { root: expired, middle });
    expect(() => createGateways(configOf(env))).toThrow(InvalidEnvironment);
    expect(() => createGateways(configOf(env))).toThrow(
      `UNIONPAY_ROOT_CERT_FILE=${expired.certFile}: the UnionPay root certificate expired on ` +
        new Date(expired.certificate.validTo).toISOString(),
    );
  });

  it('refuses to start with a middle certificate that is not valid yet', () => {
    const future = mint.issue({
      subject: '/CN=New Middle',
      ca: true,
      issuer: root,
      notBefore: new Date(Date.now() + day),
    });
    expect(() => createGateways(configOf(liveGatewayEnv(mint, { root, middle: future })))).toThrow(
      /UNIONPAY_MIDDLE_CERT_FILE=.*: the UnionPay middle certificate is not valid until/,
    );
  });

  it('warns when the middle certificate expires within 30 days, and still starts', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const soon = mint.issue({
      subject: '/CN=Soon Middle',
      ca: true,
      issuer: root,
      notAfter: new Date(Date.now() + 12 * day),
    });
    expect(createGateways(configOf(liveGatewayEnv(mint, { root, middle: soon })))).toHaveLength(3);
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(
        new RegExp(
          `^UNIONPAY_MIDDLE_CERT_FILE=${soon.certFile}: the UnionPay middle certificate expires on .*successor`,
        ),
      ),
    );
  });
});
