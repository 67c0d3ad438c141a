import { CertificateMint } from '../../../test/support/certificates';
import { txnTimeOf } from '../unionpay/unionpay.gateway';
import { anchorDates, trustedSigningKey, unionpayTime } from './unionpay.protocol';

describe('UnionPay 5.1.0 wire rules', () => {
  describe('the signing certificate, checked to the letter', () => {
    const mint = new CertificateMint();
    const unionpay = '/CN=041@Z12345678@中国银联股份有限公司@00010000';
    const { root, middle, leaf } = mint.chain({ subject: unionpay });
    const own = { root: root.certificate, middle: middle.certificate, requireUnionPayCn: true };
    const leafOf = (options: Parameters<CertificateMint['issue']>[0]) => mint.issue({ ...options, issuer: middle }).pem;
    const day = 24 * 3600 * 1000;

    it("trusts UnionPay's own form: one CN, a@b@中国银联股份有限公司@d, keyUsage digitalSignature", () => {
      expect(typeof trustedSigningKey(leaf.pem, own, new Date())).toBe('object');
    });

    it.each([
      [
        'a UnionPay name in another attribute (OU=CN=…), and a CN of its own',
        '/OU=CN=041@Z1@中国银联股份有限公司@0001/CN=x',
      ],
      ['two CN attributes, the first one UnionPay’s', '/CN=041@Z1@中国银联股份有限公司@0001/CN=second'],
      ['no CN attribute at all', '/OU=041@Z1@中国银联股份有限公司@0001'],
      ['a CN with UnionPay at index 2 but five fields', '/CN=041@Z1@中国银联股份有限公司@0001@extra'],
      ['a CN that only contains the organisation', '/CN=041@Z1@中国银联股份有限公司XX@0001'],
    ])('refuses %s', (_, subject) => {
      expect(trustedSigningKey(leafOf({ subject }), own, new Date())).toMatch(/CN attributes|not UnionPay/);
    });

    it('the CN rule is the one a test environment may relax; the key usage rule is not', () => {
      const relaxed = { ...own, requireUnionPayCn: false };
      expect(typeof trustedSigningKey(leafOf({ subject: '/CN=test signer' }), relaxed, new Date())).toBe('object');
      const encipherOnly = leafOf({ subject: unionpay, keyUsage: 'critical,keyEncipherment' });
      expect(trustedSigningKey(encipherOnly, relaxed, new Date())).toMatch(/keyUsage/);
    });

    it.each([
      ['without a keyUsage extension', null],
      ['for key encipherment only', 'critical,keyEncipherment'],
      ['for certificate signing only', 'critical,keyCertSign'],
    ])('refuses a signing certificate %s', (_, keyUsage) => {
      expect(trustedSigningKey(leafOf({ subject: unionpay, keyUsage }), own, new Date())).toMatch(/keyUsage/);
    });

    it('refuses every signature while the configured root or middle is out of its validity period', () => {
      const old = mint.chain(
        { subject: unionpay },
        { middle: { notBefore: new Date(Date.now() - 400 * day), notAfter: new Date(Date.now() - day) } },
      );
      const anchors = { root: old.root.certificate, middle: old.middle.certificate, requireUnionPayCn: true };
      expect(trustedSigningKey(old.leaf.pem, anchors, new Date())).toMatch(/middle certificate has expired/);
    });

    it('anchorDates names an expired or not yet valid anchor, and one that expires within 30 days', () => {
      const now = new Date();
      const expiredRoot = mint.issue({
        subject: '/CN=old root',
        ca: true,
        notBefore: new Date(now.getTime() - 800 * day),
        notAfter: new Date(now.getTime() - 2 * day),
      });
      const soonMiddle = mint.issue({
        subject: '/CN=soon middle',
        ca: true,
        issuer: root,
        notAfter: new Date(now.getTime() + 10 * day),
      });
      const futureMiddle = mint.issue({
        subject: '/CN=future middle',
        ca: true,
        issuer: root,
        notBefore: new Date(now.getTime() + 2 * day),
      });
      expect(anchorDates({ root: root.certificate, middle: middle.certificate }, now)).toEqual([]);
      expect(anchorDates({ root: expiredRoot.certificate, middle: soonMiddle.certificate }, now)).toEqual([
        { anchor: 'root', state: 'expired', at: new Date(expiredRoot.certificate.validTo) },
        { anchor: 'middle', state: 'expires_soon', at: new Date(soonMiddle.certificate.validTo) },
      ]);
      expect(anchorDates({ root: root.certificate, middle: futureMiddle.certificate }, now)).toEqual([
        { anchor: 'middle', state: 'not_yet_valid', at: new Date(futureMiddle.certificate.validFrom) },
      ]);
      // 31 days out is not yet worth a warning.
      const later = mint.issue({
        subject: '/CN=m',
        ca: true,
        issuer: root,
        notAfter: new Date(now.getTime() + 31 * day),
      });
      expect(anchorDates({ root: root.certificate, middle: later.certificate }, now)).toEqual([]);
    });
  });

  it('txnTime is Beijing time, recovered from the payment number for queries', () => {
    expect(unionpayTime(new Date('2026-11-25T16:30:00Z'))).toBe('20261126003000');
    expect(txnTimeOf('P2026112516300012345678901234')).toBe('20261126003000');
  });
});
