import { accountRequest } from '../../sandbox/merchants/account-request';
import { newIds, rsaKeyPair } from '../../sandbox/merchants/merchant-material';
import { BENCH_ACCOUNTS_APPLICATION } from './api-key';
import { BENCH_ADMIN_TOKEN } from './environment';
import { postForAnswer } from './load';

/** The stored WeChat accounts the checkout bench pays with, alternately. */
export const BENCH_ACCOUNTS = ['bench-wechat-1', 'bench-wechat-2'] as const;

/**
 * Stores two WeChat merchant accounts through the admin API of a running bench app (sealed under the bench
 * KEK, as an operator would) and binds the `bench-accounts` application to both. Once per emptied schema.
 */
export async function openBenchAccounts(url: string): Promise<void> {
  const admin = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };
  for (const id of BENCH_ACCOUNTS) {
    const [merchant, platform] = await Promise.all([rsaKeyPair(), rsaKeyPair()]);
    const body = accountRequest(id, 'wechat', {
      mchid: newIds.wechatMchid(),
      appid: newIds.wechatAppid(),
      merchantSerialNo: newIds.wechatSerialNo(),
      merchantPrivateKeyPem: merchant.privateKeyPem,
      platformKeyId: newIds.wechatPublicKeyId(),
      platformPublicKeyPem: platform.publicKeyPem,
      apiV3Key: newIds.wechatApiV3Key(),
    });
    const created = await postForAnswer(`${url}/api/admin/accounts`, JSON.stringify(body), admin);
    if (created.status !== 201 && created.status !== 409) {
      throw new Error(`storing account ${id}: ${created.status} ${created.body}`);
    }
  }
  const bound = await fetch(`${url}/api/admin/applications/${BENCH_ACCOUNTS_APPLICATION}/accounts/wechat`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...admin },
    body: JSON.stringify({ accountIds: BENCH_ACCOUNTS }),
  });
  if (bound.status !== 200) throw new Error(`binding the bench accounts: ${bound.status} ${await bound.text()}`);
}
