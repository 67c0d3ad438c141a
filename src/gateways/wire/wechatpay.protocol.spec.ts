import { createCipheriv, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  appPayMessage,
  inAppPayMessage,
  authorizationHeader,
  decryptResource,
  encryptResource,
  parseAuthorization,
  requestMessage,
  responseMessage,
  rsaSign,
  rsaVerify,
  toWechatTotal,
} from './wechatpay.protocol';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const apiV3Key = '0123456789abcdef0123456789abcdef';

describe('WeChat Pay v3 wire rules', () => {
  it('builds the request message with the body line empty for GET', () => {
    expect(
      requestMessage('GET', '/v3/pay/transactions/out-trade-no/P1?mchid=1900000001', '1554208460', 'NONCE', ''),
    ).toBe('GET\n/v3/pay/transactions/out-trade-no/P1?mchid=1900000001\n1554208460\nNONCE\n\n');
    expect(responseMessage('1554208460', 'NONCE', '{"a":1}')).toBe('1554208460\nNONCE\n{"a":1}\n');
  });

  it('signs with SHA256withRSA and verifies only with the matching key and message', () => {
    const message = requestMessage('POST', '/v3/pay/transactions/native', '1554208460', 'N', '{"x":1}');
    const signature = rsaSign(message, privateKey);
    expect(rsaVerify(message, signature, publicKey)).toBe(true);
    expect(rsaVerify(message.replace('"x":1', '"x":2'), signature, publicKey)).toBe(false);
    expect(rsaVerify(message, signature, other.publicKey)).toBe(false);
    expect(rsaVerify(message, 'not base64 at all', publicKey)).toBe(false);
  });

  it('writes and reads the Authorization header', () => {
    const header = authorizationHeader({
      mchid: '1900000001',
      nonce: 'N',
      timestamp: '1',
      serialNo: 'ABC',
      signature: 's==',
    });
    expect(header).toBe(
      'WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="N",timestamp="1",serial_no="ABC",signature="s=="',
    );
    expect(parseAuthorization(header)).toEqual({
      mchid: '1900000001',
      nonce_str: 'N',
      timestamp: '1',
      serial_no: 'ABC',
      signature: 's==',
    });
    expect(parseAuthorization('Bearer x')).toBeUndefined();
  });

  it('decrypts a resource encrypted independently with AES-256-GCM, tag appended to the ciphertext', () => {
    const nonce = 'abcdef123456';
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key), Buffer.from(nonce));
    cipher.setAAD(Buffer.from('transaction'));
    const ciphertext = Buffer.concat([cipher.update('{"trade_state":"SUCCESS"}'), cipher.final(), cipher.getAuthTag()]);
    const resource = {
      algorithm: 'AEAD_AES_256_GCM' as const,
      ciphertext: ciphertext.toString('base64'),
      associated_data: 'transaction',
      nonce,
      original_type: 'transaction',
    };
    expect(decryptResource(resource, apiV3Key)).toBe('{"trade_state":"SUCCESS"}');
    expect(() => decryptResource({ ...resource, associated_data: 'other' }, apiV3Key)).toThrow();
    expect(() => decryptResource(resource, 'fedcba9876543210fedcba9876543210')).toThrow();
    expect(decryptResource(encryptResource('hello', apiV3Key, '', 'transaction'), apiV3Key)).toBe('hello');
  });

  it('keeps amounts in integer fen and refuses what WeChat cannot take', () => {
    expect(toWechatTotal(1)).toBe(1);
    expect(() => toWechatTotal(0)).toThrow(RangeError);
    expect(() => toWechatTotal(12.5)).toThrow(RangeError);
    expect(() => toWechatTotal(2_147_483_648)).toThrow(RangeError);
  });
});

describe('cross-check with wechatpay-axios-plugin (an independent implementation)', () => {
  const plugin = createRequire(join(process.cwd(), 'package.json'))('wechatpay-axios-plugin') as {
    Rsa: {
      sign(message: string, key: KeyObject): string;
      verify(message: string, signature: string, key: KeyObject): boolean;
    };
    Aes: {
      AesGcm: {
        encrypt(p: string, k: string, iv: string, aad: string): string;
        decrypt(c: string, k: string, iv: string, aad: string): string;
      };
    };
    Formatter: {
      request(method: string, uri: string, timestamp: string, nonce: string, body: string): string;
      response(timestamp: string, nonce: string, body: string): string;
      joinedByLineFeed(...pieces: string[]): string;
    };
  };

  it("builds the in-app call's paySign message as the vendor's page does, and it verifies with the plugin", () => {
    // The vendor's example ("JSAPI调起支付签名"): four lines, each ending in a line feed, the last too.
    const message = inAppPayMessage(
      'wx8888888888888888',
      '1414561699',
      '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      'prepay_id=wx201410272009395522657a690389285100',
    );
    expect(message).toBe(
      'wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n',
    );
    expect(message).toBe(
      plugin.Formatter.joinedByLineFeed(
        'wx8888888888888888',
        '1414561699',
        '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
        'prepay_id=wx201410272009395522657a690389285100',
      ),
    );
    expect(plugin.Rsa.verify(message, rsaSign(message, privateKey), publicKey)).toBe(true);
  });

  it("builds the app SDK call's sign message over the bare prepay_id, as the vendor's APP page lists it", () => {
    // The vendor's PayReq example (APP 调起支付): appid, timestamp, noncestr, prepayid; each line ends in a line feed.
    const pieces = [
      'wxd930ea5d5a258f4f',
      '1398746574',
      '1101000000140429eb40476f8896f4c9',
      '1101000000140415649af9fc314aa427',
    ];
    const message = appPayMessage(pieces[0], pieces[1], pieces[2], pieces[3]);
    expect(message).toBe(
      'wxd930ea5d5a258f4f\n1398746574\n1101000000140429eb40476f8896f4c9\n1101000000140415649af9fc314aa427\n',
    );
    expect(message).toBe(plugin.Formatter.joinedByLineFeed(...pieces));
    expect(plugin.Rsa.verify(message, rsaSign(message, privateKey), publicKey)).toBe(true);
  });

  it('builds the same request and response messages', () => {
    expect(requestMessage('POST', '/v3/pay/transactions/native', '1554208460', 'N', '{"a":1}')).toBe(
      plugin.Formatter.request('POST', '/v3/pay/transactions/native', '1554208460', 'N', '{"a":1}'),
    );
    expect(responseMessage('1554208460', 'N', '')).toBe(plugin.Formatter.response('1554208460', 'N', ''));
  });

  it('signs identically and verifies each other', () => {
    const message = requestMessage(
      'GET',
      '/v3/pay/transactions/out-trade-no/P1?mchid=1900000001',
      '1554208460',
      'N',
      '',
    );
    expect(rsaSign(message, privateKey)).toBe(plugin.Rsa.sign(message, privateKey));
    expect(rsaVerify(message, plugin.Rsa.sign(message, privateKey), publicKey)).toBe(true);
    expect(plugin.Rsa.verify(message, rsaSign(message, privateKey), publicKey)).toBe(true);
  });

  it('decrypts what the plugin encrypts, and the plugin decrypts ours', () => {
    const theirs = plugin.Aes.AesGcm.encrypt('{"trade_state":"SUCCESS"}', apiV3Key, '0123456789ab', 'transaction');
    expect(
      decryptResource(
        {
          algorithm: 'AEAD_AES_256_GCM',
          ciphertext: theirs,
          associated_data: 'transaction',
          nonce: '0123456789ab',
          original_type: 'transaction',
        },
        apiV3Key,
      ),
    ).toBe('{"trade_state":"SUCCESS"}');
    const ours = encryptResource('hello', apiV3Key, 'transaction', 'transaction');
    expect(plugin.Aes.AesGcm.decrypt(ours.ciphertext, apiV3Key, ours.nonce, ours.associated_data)).toBe('hello');
  });
});
