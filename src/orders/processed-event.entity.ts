import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Payment events the Orders consumer has applied, written in the same transaction as the order change. */
@Entity({ name: 'order_processed_events' })
@Index('ix_order_processed_payment_version', ['paymentNo', 'version'])
export class ProcessedEvent {
  @PrimaryColumn({ name: 'event_id', type: 'char', length: 36 })
  eventId: string;

  @Column({ name: 'payment_no', type: 'varchar', length: 32 })
  paymentNo: string;

  @Column({ type: 'int' })
  version: number;

  @Column({ type: 'varchar', length: 32 })
  type: string;

  /** applied, or why it was skipped (stale). */
  @Column({ type: 'varchar', length: 16 })
  outcome: string;

  @Column({ name: 'processed_at', type: 'datetime', precision: 3 })
  processedAt: Date;
}
