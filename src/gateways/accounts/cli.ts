import 'reflect-metadata';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { oneOffAppContext } from '../../one-off-context';

/**
 * `npm run accounts -- reencrypt`: seals every channel account's secrets with the current KEK
 * (ACCOUNT_KEK_ID). Rotating the KEK: add the new key to ACCOUNT_KEKS beside the old one and make it
 * ACCOUNT_KEK_ID on every instance, run this, then remove the old key. Each account is resealed in a
 * transaction of its own, under its row lock, and audited; running it again does nothing.
 */
async function main(): Promise<number> {
  const command = process.argv[2];
  if (command !== 'reencrypt') {
    console.error('usage: npm run accounts -- reencrypt');
    return 1;
  }
  const app = await oneOffAppContext();
  try {
    const { ChannelAccountsService } = await import('./channel-accounts.service.js');
    const { AdminAuditLog } = await import('../../admin/auth/admin-audit-log.js');
    const { inTransaction } = await import('../../database/transaction.js');
    const accounts = app.get(ChannelAccountsService);
    const audit = app.get(AdminAuditLog);
    const dataSource = app.get<DataSource>(getDataSourceToken());
    const stale = await accounts.staleSeals();
    for (const id of stale) {
      await inTransaction(dataSource, async (manager) => {
        if (await accounts.reseal(manager, id))
          await audit.record('cli', 'account.reencrypt', { accountId: id }, 1, manager);
      });
    }
    console.log(JSON.stringify({ resealed: stale }));
    return 0;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
