import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { fenColumn, type Fen } from '../../common/money';
import type { Channel, GatewayResult } from '../../gateways/gateway.types';

/**
 * A vendor notification that was applied, by the vendor's id of it: written in the transaction that applies
 * it, so a replay of the same notification (same id) finds it and is acknowledged without being applied again.
 */
@Entity({ name: 'applied_notifications' })
@Index('ix_applied_notifications_applied_at', ['appliedAt'])
export class AppliedNotification {
  @PrimaryColumn({ type: 'varchar', length: 16 })
  channel: Channel;

  @PrimaryColumn({ name: 'notification_id', type: 'varchar', length: 64 })
  notificationId: string;

  @Column({ name: 'applied_at', type: 'datetime', precision: 3 })
  appliedAt: Date;
}

/**
 * A verified notification for a payment number we never made (or no longer have): the vendor holds money or a
 * trade we have no payment for. Kept once per channel, payment number and vendor trade, acknowledged so the
 * vendor stops resending, and left for an operator (and reconciliation) to match; nothing else is created.
 */
@Entity({ name: 'orphan_notifications' })
@Index('uq_orphan_notifications_trade', ['channel', 'paymentNo', 'gatewayTradeNo'], { unique: true })
export class OrphanNotification {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'varchar', length: 16 })
  channel: Channel;

  /** The vendor's merchant order number (out_trade_no / orderId), as it came. */
  @Column({ name: 'payment_no', type: 'varchar', length: 64 })
  paymentNo: string;

  /** The vendor's trade number; '' when the notification names none (not a payment). */
  @Column({ name: 'gateway_trade_no', type: 'varchar', length: 64, default: '' })
  gatewayTradeNo: string;

  /** What the notification says happened: paid, closed, failed... */
  @Column({ type: 'varchar', length: 16 })
  result: GatewayResult['kind'];

  @Column({ name: 'amount_fen', type: 'bigint', nullable: true, transformer: fenColumn })
  amountFen: Fen | null;

  /** The body exactly as the vendor sent it (WeChat's still encrypted), for an operator or the vendor's support. */
  @Column({ name: 'raw_body', type: 'mediumtext' })
  rawBody: string;

  @Column({ name: 'times_received', type: 'int', default: 1 })
  timesReceived: number;

  @Index('ix_orphan_notifications_received')
  @Column({ name: 'received_at', type: 'datetime', precision: 3 })
  receivedAt: Date;

  @Column({ name: 'last_received_at', type: 'datetime', precision: 3 })
  lastReceivedAt: Date;

  /** When a statement line of the vendor's was found for it (reconciliation). */
  @Column({ name: 'linked_at', type: 'datetime', precision: 3, nullable: true })
  linkedAt: Date | null;

  @Column({ name: 'linked_detail', type: 'varchar', length: 256, nullable: true })
  linkedDetail: string | null;
}
