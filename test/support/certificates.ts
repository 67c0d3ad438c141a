import { execFileSync } from 'node:child_process';
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MintedCertificate {
  pem: string;
  certificate: X509Certificate;
  privateKey: KeyObject;
  /** Files, for settings that take paths (UNIONPAY_*_CERT_FILE). */
  certFile: string;
  keyFile: string;
}

export interface IssueOptions {
  /** openssl `-subj` form, e.g. `/OU=CN=041@Z1@中国银联股份有限公司@0001/CN=attacker`. */
  subject: string;
  /** Self-signed when absent. */
  issuer?: MintedCertificate;
  ca?: boolean;
  /** openssl keyUsage value; null leaves the extension out. Default: digitalSignature for leaves. */
  keyUsage?: string | null;
  notBefore?: Date;
  notAfter?: Date;
}

/**
 * Certificates a test makes for itself: its own root, middle and signing leaves, with any subject, key usage
 * and validity dates (past ones too: `openssl ca` takes explicit dates, `x509 -days` does not).
 */
export class CertificateMint {
  private readonly dir = mkdtempSync(join(tmpdir(), 'pc-mint-'));
  private count = 0;

  constructor() {
    writeFileSync(join(this.dir, 'index.txt'), '');
    writeFileSync(join(this.dir, 'serial.txt'), '1000\n');
  }

  issue(options: IssueOptions): MintedCertificate {
    this.count += 1;
    const name = (suffix: string) => join(this.dir, `c${this.count}.${suffix}`);
    const day = 24 * 3600 * 1000;
    const notBefore = options.notBefore ?? new Date(Date.now() - day);
    const notAfter = options.notAfter ?? new Date(Date.now() + 365 * day);
    const keyUsage =
      options.keyUsage !== undefined
        ? options.keyUsage
        : options.ca
          ? 'critical,keyCertSign,cRLSign'
          : 'critical,digitalSignature,nonRepudiation';
    const extensions = [
      '[ext]',
      `basicConstraints=critical,CA:${options.ca ? 'TRUE' : 'FALSE'}`,
      ...(keyUsage ? [`keyUsage=${keyUsage}`] : []),
    ];
    writeFileSync(
      name('cnf'),
      [
        '[ca]',
        'default_ca=mint',
        '[mint]',
        `database=${join(this.dir, 'index.txt')}`,
        `serial=${join(this.dir, 'serial.txt')}`,
        `new_certs_dir=${this.dir}`,
        'default_md=sha256',
        'policy=anything',
        'unique_subject=no',
        '[anything]',
        ...extensions,
      ].join('\n'),
    );
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', name('key'));
    openssl('req', '-new', '-key', name('key'), '-out', name('csr'), '-utf8', '-subj', options.subject);
    const signer = options.issuer
      ? ['-cert', options.issuer.certFile, '-keyfile', options.issuer.keyFile]
      : ['-selfsign', '-keyfile', name('key')];
    openssl(
      'ca',
      '-batch',
      '-config',
      name('cnf'),
      ...signer,
      '-in',
      name('csr'),
      '-out',
      name('pem'),
      '-startdate',
      asn1Time(notBefore),
      '-enddate',
      asn1Time(notAfter),
      '-extensions',
      'ext',
      '-notext',
      '-preserveDN',
      '-utf8',
    );
    const pem = readFileSync(name('pem'), 'utf8');
    return {
      pem,
      certificate: new X509Certificate(pem),
      privateKey: createPrivateKey(readFileSync(name('key'), 'utf8')),
      certFile: name('pem'),
      keyFile: name('key'),
    };
  }

  /** A root, a middle it issued, and a leaf the middle issued, as UnionPay's chain is cut. */
  chain(
    leaf: Omit<IssueOptions, 'issuer' | 'ca'>,
    anchors: { root?: Partial<IssueOptions>; middle?: Partial<IssueOptions> } = {},
  ) {
    const root = this.issue({ subject: '/CN=Test Root CA', ca: true, ...anchors.root });
    const middle = this.issue({ subject: '/CN=Test Middle CA', ca: true, issuer: root, ...anchors.middle });
    return { root, middle, leaf: this.issue({ ...leaf, issuer: middle }) };
  }
}

/** GeneralizedTime as `openssl ca -startdate/-enddate` take it. */
function asn1Time(at: Date): string {
  return `${at.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}
