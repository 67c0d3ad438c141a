/**
 * The Payment Center admin API's body (`POST /api/admin/accounts`) for a merchant the sandbox made with
 * `POST /sandbox/merchants`: the tests and the chaos run open their channel accounts this way. The field names
 * are those of docs/accounts.md; a WeChat service provider's sub-merchant and an Alipay third-party app carry
 * their partner fields.
 */
export function accountRequest(
  accountId: string,
  channel: 'wechat' | 'alipay' | 'unionpay',
  material: Record<string, string>,
): { id: string; channel: string; name: string; settings: object; secrets: object } {
  const m = material;
  switch (channel) {
    case 'wechat':
      return {
        id: accountId,
        channel,
        name: `WeChat ${accountId}`,
        settings: {
          mchid: m.spMchid ?? m.mchid,
          appid: m.spAppid ?? m.appid,
          merchantSerialNo: m.merchantSerialNo,
          platformKeys: { [m.platformKeyId]: m.platformPublicKeyPem },
          ...(m.subMchid ? { subMchid: m.subMchid, subAppid: m.subAppid } : {}),
        },
        secrets: { merchantPrivateKeyPem: m.merchantPrivateKeyPem, apiV3Key: m.apiV3Key },
      };
    case 'alipay':
      return {
        id: accountId,
        channel,
        name: `Alipay ${accountId}`,
        settings: {
          appId: m.appId,
          alipayPublicKeyPem: m.alipayPublicKeyPem,
          sellerId: m.sellerId,
          ...(m.appAuthToken ? { authAppId: m.authAppId } : {}),
        },
        secrets: {
          appPrivateKeyPem: m.appPrivateKeyPem,
          ...(m.appAuthToken ? { appAuthToken: m.appAuthToken } : {}),
        },
      };
    case 'unionpay':
      return {
        id: accountId,
        channel,
        name: `UnionPay ${accountId}`,
        settings: {
          merId: m.merId,
          merchantCertPem: m.merchantCertPem,
          rootCertPem: m.rootCertPem,
          middleCertPem: m.middleCertPem,
        },
        secrets: { merchantPrivateKeyPem: m.merchantPrivateKeyPem },
      };
  }
}
