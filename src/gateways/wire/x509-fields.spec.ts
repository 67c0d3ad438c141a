import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { CertificateMint } from '../../../test/support/certificates';
import { keyUsageOf, subjectCommonNames } from './x509-fields';

describe('X.509 fields node:crypto does not give', () => {
  const mint = new CertificateMint();

  it('subjectCommonNames reads CN attributes from the parsed name, one per attribute', () => {
    const cn = (subject: string) => subjectCommonNames(mint.issue({ subject }).certificate);
    expect(cn('/CN=041@Z1@中国银联股份有限公司@0001')).toEqual(['041@Z1@中国银联股份有限公司@0001']);
    expect(cn('/OU=CN=041@Z1@中国银联股份有限公司@0001/CN=x')).toEqual(['x']);
    expect(cn('/CN=a/CN=b')).toEqual(['a', 'b']);
    expect(cn('/O=no common name')).toEqual([]);
    // A value that prints as more lines of the subject is still one attribute.
    expect(cn('/O=x\nCN=forged/CN=real')).toEqual(['real']);
  });

  it.each([
    ['critical,digitalSignature,nonRepudiation', ['digitalSignature', 'nonRepudiation']],
    ['critical,keyEncipherment', ['keyEncipherment']],
    ['keyCertSign,cRLSign', ['keyCertSign', 'cRLSign']],
    ['digitalSignature,decipherOnly,keyAgreement', ['digitalSignature', 'keyAgreement', 'decipherOnly']],
  ])('keyUsageOf reads %s as openssl does', (keyUsage, expected) => {
    const minted = mint.issue({ subject: '/CN=k', keyUsage });
    expect(keyUsageOf(minted.certificate)).toEqual(expected);
    const printed = execFileSync('openssl', ['x509', '-noout', '-ext', 'keyUsage', '-in', minted.certFile], {
      encoding: 'utf8',
    });
    expect(printed).toContain(keyUsage.includes('digitalSignature') ? 'Digital Signature' : 'Key Usage');
  });

  it('keyUsageOf is undefined without the extension, and throws on DER that does not read', () => {
    expect(keyUsageOf(mint.issue({ subject: '/CN=none', keyUsage: null }).certificate)).toBeUndefined();
    const broken = { raw: Buffer.from([0x30, 0x05, 0x30, 0x09]) } as unknown as X509Certificate;
    expect(() => keyUsageOf(broken)).toThrow(/DER/);
  });
});
