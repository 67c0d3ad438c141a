import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKey, readPem } from '../src/gateways/wire/sandbox-key-set';
import {
  certIdOf,
  signContent,
  signFields,
  trustedSigningKey,
  verifyFields,
} from '../src/gateways/wire/unionpay.protocol';
import { ensureSandboxKeys } from './sandbox-keys';

const dir = join(mkdtempSync(join(tmpdir(), 'pc-unionpay-')), 'keys');
ensureSandboxKeys(dir);
const anchors = {
  root: new X509Certificate(readPem(dir, 'unionpayRootCert')),
  middle: new X509Certificate(readPem(dir, 'unionpayMiddleCert')),
  requireUnionPayCn: true,
};

describe("UnionPay 5.1.0 wire rules, with the sandbox's generated chain and keys", () => {
  const fields = { merId: '777290058110048', orderId: 'P1', txnAmt: '2500', reqReserved: '', version: '5.1.0' };

  it('signs sorted fields with empty values kept, SHA-256 hex first, then SHA256withRSA', () => {
    expect(signContent({ ...fields, signature: 'x' })).toBe(
      'merId=777290058110048&orderId=P1&reqReserved=&txnAmt=2500&version=5.1.0',
    );
    const signature = signFields(fields, loadKey(dir, 'unionpaySignPrivate'));
    const publicKey = new X509Certificate(readPem(dir, 'unionpaySignCert')).publicKey;
    expect(verifyFields({ ...fields, signature }, publicKey)).toBe(true);
    expect(verifyFields({ ...fields, txnAmt: '1', signature }, publicKey)).toBe(false);
  });

  it('agrees with the openssl command line on the same string and key', () => {
    const work = mkdtempSync(join(tmpdir(), 'pc-openssl-'));
    const hex = createHash('sha256').update(signContent(fields)).digest('hex');
    writeFileSync(join(work, 'digest.txt'), hex);
    const key = join(dir, 'unionpay-sign-private.pem');
    execFileSync('openssl', ['dgst', '-sha256', '-sign', key, '-out', join(work, 'sig.bin'), join(work, 'digest.txt')]);
    const fromOpenssl = readFileSync(join(work, 'sig.bin')).toString('base64');
    expect(signFields(fields, loadKey(dir, 'unionpaySignPrivate'))).toBe(fromOpenssl);
  });

  it('certId is the certificate serial in decimal', () => {
    const certificate = new X509Certificate(readPem(dir, 'unionpaySignCert'));
    expect(certIdOf(certificate)).toBe(BigInt(`0x${certificate.serialNumber}`).toString());
    expect(certIdOf(certificate)).toMatch(/^\d+$/);
  });

  it('trusts a signing certificate only through the configured chain and with UnionPay as its owner', () => {
    expect(typeof trustedSigningKey(readPem(dir, 'unionpaySignCert'), anchors, new Date())).toBe('object');
    expect(trustedSigningKey(readPem(dir, 'unionpayMerchantCert'), anchors, new Date())).toMatch(/not issued by/);
    expect(trustedSigningKey(readPem(dir, 'unionpaySignCert'), anchors, new Date('2099-01-01'))).toMatch(/expired/);
    expect(trustedSigningKey('garbage', anchors, new Date())).toMatch(/not a certificate/);
    expect(trustedSigningKey(undefined, anchors, new Date())).toMatch(/no signPubKeyCert/);
    // A chain the merchant configured wrongly (root and middle swapped) is refused too.
    expect(
      trustedSigningKey(readPem(dir, 'unionpaySignCert'), { ...anchors, middle: anchors.root }, new Date()),
    ).toMatch(/not issued/);
  });
});
