import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { fenColumn, type Fen } from '../common/money';
import type { Channel } from '../gateways/gateway.types';
import type { DifferenceKind } from './statement-comparison';

/**
 * MATCHED: no difference. RESOLVED: differences, all fixed automatically. REVIEW: some need an operator.
 * EMPTY: the vendor has no bill (nothing happened). NOT_READY: the bill is not made yet. FAILED: no bill read.
 */
export type RunStatus = 'RUNNING' | 'MATCHED' | 'RESOLVED' | 'REVIEW' | 'EMPTY' | 'NOT_READY' | 'FAILED';

@Entity({ name: 'reconciliation_runs' })
@Index('ix_reconciliation_runs_day', ['channel', 'billDate', 'id'])
export class ReconciliationRun {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'varchar', length: 16 })
  channel: Channel;

  /** The channel account whose statement this is (bills are per merchant). */
  @Column({ name: 'account_id', type: 'varchar', length: 32, default: 'default' })
  accountId: string;

  /** The statement's day, `YYYY-MM-DD` in Beijing time. */
  @Column({ name: 'bill_date', type: 'char', length: 10 })
  billDate: string;

  @Column({ type: 'varchar', length: 16 })
  status: RunStatus;

  @Column({ name: 'statement_lines', type: 'int', default: 0 })
  statementLines: number;

  @Column({ type: 'int', default: 0 })
  differences: number;

  @Column({ type: 'int', default: 0 })
  resolved: number;

  @Column({ type: 'int', default: 0 })
  review: number;

  @Column({ type: 'varchar', length: 512, nullable: true })
  error: string | null;

  /** `schedule`, `cli`, or the admin token's name. */
  @Column({ name: 'triggered_by', type: 'varchar', length: 64 })
  triggeredBy: string;

  @Column({ name: 'started_at', type: 'datetime', precision: 3 })
  startedAt: Date;

  @Column({ name: 'finished_at', type: 'datetime', precision: 3, nullable: true })
  finishedAt: Date | null;
}

@Entity({ name: 'reconciliation_differences' })
export class ReconciliationDifference {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Index('ix_reconciliation_differences_run')
  @Column({ name: 'run_id', type: 'bigint' })
  runId: string;

  @Column({ type: 'varchar', length: 32 })
  kind: DifferenceKind;

  @Index('ix_reconciliation_differences_payment')
  @Column({ name: 'payment_no', type: 'varchar', length: 32 })
  paymentNo: string;

  @Column({ name: 'refund_no', type: 'varchar', length: 32, nullable: true })
  refundNo: string | null;

  @Column({ name: 'ours_fen', type: 'bigint', nullable: true, transformer: fenColumn })
  oursFen: Fen | null;

  @Column({ name: 'theirs_fen', type: 'bigint', nullable: true, transformer: fenColumn })
  theirsFen: Fen | null;

  /** RESOLVED: fixed through the normal locked path. REVIEW: an operator must look. */
  @Column({ type: 'varchar', length: 16 })
  resolution: 'RESOLVED' | 'REVIEW';

  @Column({ type: 'varchar', length: 512, nullable: true })
  detail: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}
