import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { Channel } from '../gateway.types';

export const ACCOUNT_STATUSES = ['ACTIVE', 'DISABLED'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/**
 * One merchant account at a vendor (a WeChat Pay mchid, an Alipay app, a UnionPay merId), stored so several
 * shops can be served by one Payment Center. `settings` holds what is public (ids, the vendor's public keys
 * and certificates); `secrets` what is not (private keys, the APIv3 key, app auth tokens), each value sealed
 * under a KEK (secret-box.ts) and never returned after creation. The environment's own account of each
 * channel is `default` and has no row.
 */
@Entity({ name: 'channel_accounts' })
export class ChannelAccount {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id: string;

  @Index('ix_channel_accounts_channel')
  @Column({ type: 'varchar', length: 16 })
  channel: Channel;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  /** A DISABLED account takes no new payment; its payments in flight are still queried, closed and refunded. */
  @Column({ type: 'varchar', length: 16 })
  status: AccountStatus;

  @Column({ name: 'status_reason', type: 'varchar', length: 255, nullable: true })
  statusReason: string | null;

  @Column({ type: 'json' })
  settings: Record<string, unknown>;

  /** JSON object of field → sealed value (`v1.<kekId>.…`). */
  @Column({ type: 'text' })
  secrets: string;

  /** The KEK every secret of the row is sealed with: what the re-encrypt command looks for. */
  @Column({ name: 'kek_id', type: 'varchar', length: 32 })
  kekId: string;

  /** Raised by every change: instances rebuild their adapter for the account when it moves. */
  @Column({ type: 'int' })
  version: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;
}
