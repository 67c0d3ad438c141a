import { Inject, Injectable, Logger } from '@nestjs/common';
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPem } from '../../src/gateways/wire/sandbox-key-set';
import { certIdOf } from '../../src/gateways/wire/unionpay.protocol';
import { SANDBOX_SETTINGS, type SandboxSettings } from '../sandbox.settings';
import { newIds, rsaKeyPair, unionpayMerchantCertificate } from './merchant-material';
import {
  type AlipayAppRecord,
  type AlipayAuthorizationRecord,
  type MerchantRecord,
  recordFileName,
  type UnionpayMerchantRecord,
  type WechatMerchantRecord,
  type WechatSubMerchantRecord,
} from './merchant-records';

/** A WeChat Pay merchant as the sandbox vendor knows it: its record and the keys it verifies and signs with. */
export interface WechatMerchant {
  readonly record: WechatMerchantRecord;
  readonly merchantPublicKey: KeyObject;
  /** The platform private keys by key id; `record.signingKeyId` names the one in use. */
  readonly platformKeys: Map<string, KeyObject>;
}

export interface AlipayApp {
  readonly record: AlipayAppRecord;
  readonly appPublicKey: KeyObject;
  readonly alipayPrivateKey: KeyObject;
}

export interface UnionpayMerchant {
  readonly record: UnionpayMerchantRecord;
  /** The decimal serial of the merchant's signing certificate: what its requests name in `certId`. */
  readonly certId: string;
  readonly merchantPublicKey: KeyObject;
}

/** For whom an Alipay request acts: the app that sent it and the merchant whose trade it is. */
export interface AlipayActor {
  app: AlipayApp;
  /** `auth_app_id`: the authorising merchant's app id with app_auth_token, else the app itself. */
  authAppId: string;
  sellerId: string;
}

export type WechatKind = WechatMerchantRecord['kind'];
export type AlipayKind = AlipayAppRecord['kind'];

/** Where a sub_mchid stands for a service provider's partner call (WeChat's answer when it is not its own). */
export type SubMerchantCheck =
  { ok: true; sub: WechatSubMerchantRecord } | { ok: false; status: number; code: string; message: string };

/**
 * Every merchant the sandbox vendors serve: the default one of each vendor (the key files the app reads) and
 * any number created on demand, found by the vendor's own identifier (WeChat mchid, Alipay app_id, UnionPay
 * merId). Created merchants are written to SANDBOX_KEYS_DIR/merchants/ before they are handed out, and read
 * back at start; a lookup that misses reads that folder too, so sandboxes sharing a key folder see each
 * other's new merchants.
 */
@Injectable()
export class SandboxMerchants {
  private readonly logger = new Logger('SandboxMerchants');
  private readonly dir: string;
  private readonly wechatByMchid = new Map<string, WechatMerchant>();
  private readonly alipayByAppId = new Map<string, AlipayApp>();
  private readonly unionpayByMerId = new Map<string, UnionpayMerchant>();
  /** Ids handed out or being created: a fresh id is never one of these. */
  private readonly taken = new Set<string>();
  readonly defaultIds: { wechat: string; alipay: string; unionpay: string };

  constructor(@Inject(SANDBOX_SETTINGS) private readonly settings: SandboxSettings) {
    this.dir = join(settings.keysDir, 'merchants');
    this.defaultIds = {
      wechat: settings.wechat.mchid,
      alipay: settings.alipay.appId,
      unionpay: settings.unionpay.merId,
    };
    this.addDefaults();
    if (existsSync(this.dir)) {
      for (const name of readdirSync(this.dir)
        .filter((file) => file.endsWith('.json'))
        .sort()) {
        this.loadFile(name);
      }
    }
  }

  wechat(mchid: string | undefined): WechatMerchant | undefined {
    if (!mchid) return undefined;
    return this.wechatByMchid.get(mchid) ?? this.loadRecord('wechat', mchid, this.wechatByMchid);
  }

  get defaultWechat(): WechatMerchant {
    return this.wechatByMchid.get(this.defaultIds.wechat) as WechatMerchant;
  }

  alipay(appId: string | undefined): AlipayApp | undefined {
    if (!appId) return undefined;
    return this.alipayByAppId.get(appId) ?? this.loadRecord('alipay', appId, this.alipayByAppId);
  }

  unionpay(merId: string | undefined): UnionpayMerchant | undefined {
    if (!merId) return undefined;
    return this.unionpayByMerId.get(merId) ?? this.loadRecord('unionpay', merId, this.unionpayByMerId);
  }

  /**
   * A service provider may act only for its own sub-merchants (the partner docs' 403 NO_AUTH "商户无权限"); a
   * number WeChat does not know at all is 400 MCH_NOT_EXISTS.
   */
  checkSubMerchant(sp: WechatMerchant, subMchid: string | undefined): SubMerchantCheck {
    if (!subMchid) return { ok: false, status: 400, code: 'PARAM_ERROR', message: '受理机构必须传入sub_mchid' };
    const sub = sp.record.subMerchants.find((s) => s.subMchid === subMchid);
    if (sub) return { ok: true, sub };
    const known =
      this.wechatByMchid.has(subMchid) ||
      [...this.wechatByMchid.values()].some((m) => m.record.subMerchants.some((s) => s.subMchid === subMchid));
    return known
      ? { ok: false, status: 403, code: 'NO_AUTH', message: '商户无权限: 特约商户未授权该服务商' }
      : { ok: false, status: 400, code: 'MCH_NOT_EXISTS', message: '商户号不存在' };
  }

  /** The Alipay app of a request and, with `app_auth_token`, the merchant that authorised it; undefined: invalid token. */
  alipayActor(app: AlipayApp, appAuthToken: string | undefined): AlipayActor | undefined {
    if (!appAuthToken) return { app, authAppId: app.record.appId, sellerId: app.record.sellerId };
    // A token works only for the app it was issued to, "even another third-party app of the same account".
    const grant = app.record.authorizations.find((a) => a.appAuthToken === appAuthToken);
    return grant && { app, authAppId: grant.authAppId, sellerId: grant.sellerId };
  }

  /**
   * Whether Alipay knows `appId` as an app a buyer can authorise: one of its apps, or the app of a merchant that
   * authorised a third-party app (whose user authorisation link names the merchant's app).
   */
  isAlipayApp(appId: string): boolean {
    if (this.alipay(appId)) return true;
    return [...this.alipayByAppId.values()].some((app) => app.record.authorizations.some((a) => a.authAppId === appId));
  }

  /** The key that signs this merchant's answers and notifications now. */
  wechatSigner(merchant: WechatMerchant): { serial: string; key: KeyObject } {
    const serial = merchant.record.signingKeyId;
    return { serial, key: merchant.platformKeys.get(serial) as KeyObject };
  }

  async createWechat(kind: WechatKind) {
    const mchid = this.freshId(newIds.wechatMchid);
    const appid = this.freshId(newIds.wechatAppid);
    const subMerchants = kind === 'service_provider' ? [this.newSubMerchant()] : [];
    const [merchantKeys, platformKeys] = await Promise.all([rsaKeyPair(), rsaKeyPair()]);
    const keyId = newIds.wechatPublicKeyId();
    const record: WechatMerchantRecord = {
      channel: 'wechat',
      kind,
      mchid,
      appid,
      merchantSerialNo: newIds.wechatSerialNo(),
      merchantPublicKeyPem: merchantKeys.publicKeyPem,
      merchantPrivateKeyPem: merchantKeys.privateKeyPem,
      apiV3Key: newIds.wechatApiV3Key(),
      platformKeys: [{ keyId, ...platformKeys }],
      signingKeyId: keyId,
      subMerchants,
    };
    this.save(record);
    this.wechatByMchid.set(mchid, wechatMerchantOf(record));
    const keys = {
      merchantSerialNo: record.merchantSerialNo,
      merchantPrivateKeyPem: merchantKeys.privateKeyPem,
      platformKeyId: keyId,
      platformPublicKeyPem: platformKeys.publicKeyPem,
      apiV3Key: record.apiV3Key,
    };
    if (kind === 'direct') return { channel: 'wechat', kind, mchid, appid, ...keys } as const;
    const [sub] = subMerchants;
    return {
      channel: 'wechat',
      kind,
      spMchid: mchid,
      spAppid: appid,
      subMchid: sub.subMchid,
      subAppid: sub.subAppid,
      ...keys,
    } as const;
  }

  /** Another sub-merchant (特约商户) of a service provider; undefined when `spMchid` is not one. */
  addWechatSubMerchant(spMchid: string): WechatSubMerchantRecord | undefined {
    const sp = this.wechat(spMchid);
    if (sp?.record.kind !== 'service_provider') return undefined;
    const sub = this.newSubMerchant();
    sp.record.subMerchants.push(sub);
    this.save(sp.record);
    return { ...sub };
  }

  /** A new platform key for a merchant, signing from now on; the older ones stay known. Undefined: no such merchant. */
  async rotateWechatPlatformKey(mchid: string) {
    const merchant = this.wechat(mchid);
    if (!merchant) return undefined;
    const pair = await rsaKeyPair();
    const keyId = newIds.wechatPublicKeyId();
    merchant.record.platformKeys.push({ keyId, ...pair });
    merchant.platformKeys.set(keyId, createPrivateKey(pair.privateKeyPem));
    merchant.record.signingKeyId = keyId;
    this.save(merchant.record);
    return { platformKeyId: keyId, platformPublicKeyPem: pair.publicKeyPem };
  }

  /** Which known platform key signs this merchant's answers from now on. */
  useWechatSigningKey(mchid: string, keyId: string): 'ok' | 'no-merchant' | 'no-key' {
    const merchant = this.wechat(mchid);
    if (!merchant) return 'no-merchant';
    if (!merchant.platformKeys.has(keyId)) return 'no-key';
    merchant.record.signingKeyId = keyId;
    this.save(merchant.record);
    return 'ok';
  }

  async createAlipay(kind: AlipayKind) {
    const appId = this.freshId(newIds.alipayAppId);
    const sellerId = this.freshId(newIds.alipayUserId);
    const [app, alipay] = await Promise.all([rsaKeyPair(), rsaKeyPair()]);
    const record: AlipayAppRecord = {
      channel: 'alipay',
      kind,
      appId,
      sellerId,
      appPublicKeyPem: app.publicKeyPem,
      appPrivateKeyPem: app.privateKeyPem,
      alipayPrivateKeyPem: alipay.privateKeyPem,
      alipayPublicKeyPem: alipay.publicKeyPem,
      authorizations: kind === 'third_party' ? [this.newAuthorization()] : [],
    };
    this.save(record);
    this.alipayByAppId.set(appId, alipayAppOf(record));
    const keys = { appId, appPrivateKeyPem: app.privateKeyPem, alipayPublicKeyPem: alipay.publicKeyPem };
    if (kind === 'direct') return { channel: 'alipay', kind, ...keys, sellerId } as const;
    return { channel: 'alipay', kind, ...keys, ...record.authorizations[0] } as const;
  }

  /** One more merchant authorising a third-party app; undefined when `appId` is not a third-party app. */
  addAlipayAuthorization(appId: string): AlipayAuthorizationRecord | undefined {
    const app = this.alipay(appId);
    if (app?.record.kind !== 'third_party') return undefined;
    const grant = this.newAuthorization();
    app.record.authorizations.push(grant);
    this.save(app.record);
    return { ...grant };
  }

  async createUnionpay() {
    const merId = this.freshId(newIds.unionpayMerId);
    const { privateKeyPem, certPem } = await unionpayMerchantCertificate(merId);
    const record: UnionpayMerchantRecord = {
      channel: 'unionpay',
      kind: 'direct',
      merId,
      merchantCertPem: certPem,
      merchantPrivateKeyPem: privateKeyPem,
    };
    this.save(record);
    this.unionpayByMerId.set(merId, unionpayMerchantOf(record));
    return {
      channel: 'unionpay',
      kind: 'direct',
      merId,
      merchantPrivateKeyPem: privateKeyPem,
      merchantCertPem: certPem,
      // UnionPay's own chain, the same for every merchant: what verifies the signPubKeyCert of its answers.
      rootCertPem: readPem(this.settings.keysDir, 'unionpayRootCert'),
      middleCertPem: readPem(this.settings.keysDir, 'unionpayMiddleCert'),
    } as const;
  }

  /** Every merchant by its ids: no keys, no tokens. */
  list() {
    const wechat = [...this.wechatByMchid.values()].map(({ record }) => {
      const keys = { platformKeyIds: record.platformKeys.map((k) => k.keyId), signingKeyId: record.signingKeyId };
      const base = { channel: 'wechat', kind: record.kind, default: record.mchid === this.defaultIds.wechat };
      return record.kind === 'direct'
        ? { ...base, mchid: record.mchid, appid: record.appid, ...keys }
        : { ...base, spMchid: record.mchid, spAppid: record.appid, subMerchants: record.subMerchants, ...keys };
    });
    const alipay = [...this.alipayByAppId.values()].map(({ record }) => ({
      channel: 'alipay',
      kind: record.kind,
      default: record.appId === this.defaultIds.alipay,
      appId: record.appId,
      sellerId: record.sellerId,
      ...(record.kind === 'third_party'
        ? { authorizations: record.authorizations.map(({ authAppId, sellerId }) => ({ authAppId, sellerId })) }
        : {}),
    }));
    const unionpay = [...this.unionpayByMerId.values()].map(({ record, certId }) => ({
      channel: 'unionpay',
      kind: record.kind,
      default: record.merId === this.defaultIds.unionpay,
      merId: record.merId,
      certId,
    }));
    return [...wechat, ...alipay, ...unionpay];
  }

  /** The merchants of the key files, as they have always been (their keys are the settings'). */
  private addDefaults(): void {
    const { wechat, alipay, unionpay, keysDir } = this.settings;
    const pem = (key: KeyObject) =>
      key.export(key.type === 'private' ? { type: 'pkcs8', format: 'pem' } : { type: 'spki', format: 'pem' }) as string;
    const wechatRecord: WechatMerchantRecord = {
      channel: 'wechat',
      kind: 'direct',
      default: true,
      mchid: wechat.mchid,
      appid: wechat.appid,
      merchantSerialNo: wechat.merchantSerialNo,
      merchantPublicKeyPem: pem(wechat.merchantPublicKey),
      apiV3Key: wechat.apiV3Key,
      platformKeys: [
        {
          keyId: wechat.platformKeyId,
          privateKeyPem: pem(wechat.platformPrivateKey),
          publicKeyPem: readPem(keysDir, 'platformPublic'),
        },
      ],
      signingKeyId: wechat.platformKeyId,
      subMerchants: [],
    };
    this.wechatByMchid.set(wechat.mchid, {
      record: wechatRecord,
      merchantPublicKey: wechat.merchantPublicKey,
      platformKeys: new Map([[wechat.platformKeyId, wechat.platformPrivateKey]]),
    });
    this.alipayByAppId.set(alipay.appId, {
      record: {
        channel: 'alipay',
        kind: 'direct',
        appId: alipay.appId,
        sellerId: alipay.sellerId,
        appPublicKeyPem: pem(alipay.appPublicKey),
        appPrivateKeyPem: readPem(keysDir, 'alipayAppPrivate'),
        alipayPrivateKeyPem: pem(alipay.alipayPrivateKey),
        alipayPublicKeyPem: readPem(keysDir, 'alipayPlatformPublic'),
        authorizations: [],
      },
      appPublicKey: alipay.appPublicKey,
      alipayPrivateKey: alipay.alipayPrivateKey,
    });
    this.unionpayByMerId.set(unionpay.merId, {
      record: {
        channel: 'unionpay',
        kind: 'direct',
        merId: unionpay.merId,
        merchantCertPem: readPem(keysDir, 'unionpayMerchantCert'),
        merchantPrivateKeyPem: readPem(keysDir, 'unionpayMerchantPrivate'),
      },
      certId: unionpay.merchantCertId,
      merchantPublicKey: unionpay.merchantPublicKey,
    });
    for (const id of Object.values(this.defaultIds)) this.taken.add(id);
  }

  private loadRecord<T>(channel: MerchantRecord['channel'], id: string, into: Map<string, T>): T | undefined {
    const name = recordFileName(channel, id);
    if (!name || !existsSync(join(this.dir, name))) return undefined;
    this.loadFile(name);
    return into.get(id);
  }

  /** A file that is not a readable record (hand-edited, a PEM cut short) is skipped with a warning, not fatal. */
  private loadFile(name: string): void {
    try {
      this.addRecord(JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as MerchantRecord);
    } catch (error) {
      this.logger.warn(`merchants/${name} is not a merchant record, skipped: ${String(error)}`);
    }
  }

  private addRecord(record: MerchantRecord): void {
    switch (record.channel) {
      case 'wechat': {
        const existing = this.wechatByMchid.get(record.mchid);
        if (record.default) {
          // Only rotations of the key files' merchant are stored; a file for another default (older keys) is stale.
          if (existing?.record.default) this.applyRotations(existing, record);
          break;
        }
        this.wechatByMchid.set(record.mchid, wechatMerchantOf(record));
        record.subMerchants.forEach((sub) => this.taken.add(sub.subMchid).add(sub.subAppid));
        this.taken.add(record.mchid).add(record.appid);
        break;
      }
      case 'alipay':
        this.alipayByAppId.set(record.appId, alipayAppOf(record));
        this.taken.add(record.appId).add(record.sellerId);
        record.authorizations.forEach((grant) => this.taken.add(grant.authAppId).add(grant.sellerId));
        break;
      case 'unionpay':
        this.unionpayByMerId.set(record.merId, unionpayMerchantOf(record));
        this.taken.add(record.merId);
        break;
    }
  }

  private applyRotations(merchant: WechatMerchant, stored: WechatMerchantRecord): void {
    for (const key of stored.platformKeys) {
      if (merchant.platformKeys.has(key.keyId)) continue;
      merchant.record.platformKeys.push(key);
      merchant.platformKeys.set(key.keyId, createPrivateKey(key.privateKeyPem));
    }
    if (merchant.platformKeys.has(stored.signingKeyId)) merchant.record.signingKeyId = stored.signingKeyId;
  }

  /** Written whole to a temporary file and renamed over the old one, so a crash never leaves half a record. */
  private save(record: MerchantRecord): void {
    const id = record.channel === 'wechat' ? record.mchid : record.channel === 'alipay' ? record.appId : record.merId;
    const name = recordFileName(record.channel, id) as string;
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, name);
    writeFileSync(`${path}.tmp`, JSON.stringify(record, null, 2), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }

  private freshId(make: () => string): string {
    for (;;) {
      const id = make();
      const name = (channel: MerchantRecord['channel']) => recordFileName(channel, id) ?? '';
      const onDisk = (['wechat', 'alipay', 'unionpay'] as const).some((c) => existsSync(join(this.dir, name(c))));
      if (!this.taken.has(id) && !onDisk) {
        this.taken.add(id);
        return id;
      }
    }
  }

  private newSubMerchant(): WechatSubMerchantRecord {
    return { subMchid: this.freshId(newIds.wechatMchid), subAppid: this.freshId(newIds.wechatAppid) };
  }

  private newAuthorization(): AlipayAuthorizationRecord {
    return {
      appAuthToken: newIds.alipayAppAuthToken(),
      authAppId: this.freshId(newIds.alipayAppId),
      sellerId: this.freshId(newIds.alipayUserId),
    };
  }
}

function wechatMerchantOf(record: WechatMerchantRecord): WechatMerchant {
  return {
    record,
    merchantPublicKey: createPublicKey(record.merchantPublicKeyPem),
    platformKeys: new Map(record.platformKeys.map((k) => [k.keyId, createPrivateKey(k.privateKeyPem)])),
  };
}

function alipayAppOf(record: AlipayAppRecord): AlipayApp {
  return {
    record,
    appPublicKey: createPublicKey(record.appPublicKeyPem),
    alipayPrivateKey: createPrivateKey(record.alipayPrivateKeyPem),
  };
}

function unionpayMerchantOf(record: UnionpayMerchantRecord): UnionpayMerchant {
  const certificate = new X509Certificate(record.merchantCertPem);
  return { record, certId: certIdOf(certificate), merchantPublicKey: certificate.publicKey };
}
