import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type DataSource, In } from 'typeorm';
import { beijingDay } from '../common/beijing-time';
import { Clock } from '../common/clock';
import { inTransaction } from '../database/transaction';
import { DomainError } from '../common/errors/domain-error';
import { DEFAULT_ACCOUNT } from '../gateways/accounts/account-gateway';
import { AccountNotFound } from '../gateways/accounts/account-errors';
import { GatewayRegistry } from '../gateways/gateway-registry';
import type { Channel, StatementLine } from '../gateways/gateway.types';
import { OrphanNotificationsRepository } from '../payment-center/intake/orphan-notifications.repository';
import { PaymentCenter } from '../payment-center/payment-center.service';
import { PaymentStateService } from '../payment-center/payment-state.service';
import { RefundStateService } from '../payment-center/refunds/refund-state.service';
import { ReconciliationDifference, ReconciliationRun, type RunStatus } from './reconciliation.entity';
import { compareStatement, type Difference, type Ledger } from './statement-comparison';

export interface RunView {
  id: string;
  channel: Channel;
  accountId: string;
  billDate: string;
  status: RunStatus;
  statementLines: number;
  differences: number;
  resolved: number;
  review: number;
  error: string | null;
  triggeredBy: string;
  startedAt: string;
  finishedAt: string | null;
  items?: {
    kind: string;
    paymentNo: string;
    refundNo: string | null;
    oursFen: number | null;
    theirsFen: number | null;
    resolution: string;
    detail: string | null;
  }[];
}

/**
 * Compares a channel's statement for a day with our ledger and acts on every difference: money the
 * vendor took that we never recorded is applied through the normal locked state change (a lost payment
 * found), a refund the vendor made that we still wait for is settled; everything else goes to review,
 * logged as an alert. Every run and difference is stored and readable.
 */
@Injectable()
export class ReconciliationService {
  private readonly logger = new Logger(ReconciliationService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(GatewayRegistry) private readonly gateways: GatewayRegistry,
    @Inject(PaymentCenter) private readonly paymentCenter: PaymentCenter,
    @Inject(PaymentStateService) private readonly paymentState: PaymentStateService,
    @Inject(RefundStateService) private readonly refundState: RefundStateService,
    @Inject(OrphanNotificationsRepository) private readonly orphans: OrphanNotificationsRepository,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** Reconciles one account's statement (`default`: the environment's account of the channel). */
  async run(channel: Channel, billDate: string, triggeredBy: string, accountId = DEFAULT_ACCOUNT): Promise<RunView> {
    const gateway = await this.gateways.find(channel, accountId);
    if (!gateway) throw new AccountNotFound(accountId);
    const runs = this.dataSource.getRepository(ReconciliationRun);
    const run = await runs.save(
      runs.create({
        channel,
        accountId,
        billDate,
        status: 'RUNNING',
        statementLines: 0,
        differences: 0,
        resolved: 0,
        review: 0,
        error: null,
        triggeredBy: triggeredBy.slice(0, 64),
        startedAt: this.clock.now(),
        finishedAt: null,
      }),
    );
    const statement = await gateway.fetchStatement(billDate);
    let lines: StatementLine[];
    switch (statement.kind) {
      case 'statement':
        lines = statement.lines;
        break;
      case 'empty':
        lines = []; // nothing at the vendor: anything we settled that day is still checked
        break;
      case 'not_ready':
      case 'unknown':
        run.status = statement.kind === 'not_ready' ? 'NOT_READY' : 'FAILED';
        run.error = statement.reason.slice(0, 512);
        run.finishedAt = this.clock.now();
        await runs.save(run);
        if (run.status === 'FAILED') this.logger.error(`reconciliation ${channel} ${billDate} failed: ${run.error}`);
        return this.view(run, []);
    }
    const differences = compareStatement(lines, await this.ledger(channel, accountId, billDate, lines));
    const items: ReconciliationDifference[] = [];
    for (const difference of differences) {
      const resolved = await this.resolve(difference);
      const { resolution } = resolved;
      const detail = resolved.detail + (await this.linkOrphan(run, difference));
      items.push(
        this.dataSource.getRepository(ReconciliationDifference).create({
          runId: run.id,
          kind: difference.kind,
          paymentNo: difference.paymentNo,
          refundNo: difference.refundNo,
          oursFen: difference.oursFen,
          theirsFen: difference.theirsFen,
          resolution,
          detail: detail.slice(0, 512),
          createdAt: this.clock.now(),
        }),
      );
      if (resolution === 'REVIEW') {
        this.logger.error(
          `reconciliation ${channel} ${billDate}: ${difference.kind} ${difference.paymentNo} ${difference.refundNo ?? ''} needs review: ${detail}`,
        );
      }
    }
    if (items.length > 0) await this.dataSource.getRepository(ReconciliationDifference).save(items);
    run.statementLines = lines.length;
    run.differences = items.length;
    run.resolved = items.filter((i) => i.resolution === 'RESOLVED').length;
    run.review = items.length - run.resolved;
    run.status =
      statement.kind === 'empty' && items.length === 0
        ? 'EMPTY'
        : run.review > 0
          ? 'REVIEW'
          : run.resolved > 0
            ? 'RESOLVED'
            : 'MATCHED';
    run.finishedAt = this.clock.now();
    await runs.save(run);
    return this.view(run, items);
  }

  async get(id: string): Promise<RunView | undefined> {
    const run = await this.dataSource.getRepository(ReconciliationRun).findOneBy({ id });
    if (!run) return undefined;
    const items = await this.dataSource
      .getRepository(ReconciliationDifference)
      .find({ where: { runId: id }, order: { id: 'ASC' } });
    return this.view(run, items);
  }

  async list(filter: { channel?: Channel; accountId?: string; billDate?: string; limit?: number }): Promise<RunView[]> {
    const runs = await this.dataSource.getRepository(ReconciliationRun).find({
      where: {
        ...(filter.channel ? { channel: filter.channel } : {}),
        ...(filter.accountId ? { accountId: filter.accountId } : {}),
        ...(filter.billDate ? { billDate: filter.billDate } : {}),
      },
      order: { id: 'DESC' },
      take: Math.min(filter.limit ?? 50, 500),
    });
    return runs.map((run) => this.view(run));
  }

  /** Has this day of this account been reconciled with a result (not failed or too early)? */
  async done(channel: Channel, billDate: string, accountId = DEFAULT_ACCOUNT): Promise<boolean> {
    const count = await this.dataSource.getRepository(ReconciliationRun).count({
      where: { channel, accountId, billDate, status: In(['MATCHED', 'RESOLVED', 'REVIEW', 'EMPTY']) },
    });
    return count > 0;
  }

  /** Our side: what every line names, and what we settled on that Beijing day. */
  private async ledger(
    channel: Channel,
    accountId: string,
    billDate: string,
    lines: readonly StatementLine[],
  ): Promise<Ledger> {
    const { start, end } = beijingDay(billDate);
    const paymentNos = [...new Set(lines.map((l) => l.paymentNo))];
    const refundNos = [...new Set(lines.flatMap((l) => (l.kind === 'refund' ? [l.refundNo] : [])))];
    const {
      paidThatDay,
      refundedThatDay,
      payments: named,
      refunds: namedRefunds,
    } = await this.paymentCenter.ledgerOf(channel, accountId, { start, end }, { paymentNos, refundNos });
    return {
      // A payment of another channel or account with the same number is not ours to match.
      payments: new Map([...paidThatDay, ...named].map((p) => [p.paymentNo, p])),
      refunds: new Map([...refundedThatDay, ...namedRefunds].map((r) => [r.refundNo, r])),
      paidThatDay: paidThatDay.map((p) => p.paymentNo),
      refundedThatDay: refundedThatDay.map((r) => r.refundNo),
    };
  }

  /**
   * A trade we have no payment for, which the vendor also notified: its orphan notification is marked found
   * (the difference stays for review). What to add to the difference's detail.
   */
  private async linkOrphan(run: ReconciliationRun, difference: Difference): Promise<string> {
    if (difference.kind !== 'UNKNOWN_TRADE' || difference.line?.kind !== 'payment') return '';
    const { paymentNo, gatewayTradeNo } = difference.line;
    const orphan = await this.orphans.link(run.channel, paymentNo, gatewayTradeNo, {
      runId: run.id,
      billDate: run.billDate,
    });
    return orphan ? `; the vendor notified it too: orphan notification ${orphan}` : '';
  }

  private async resolve(difference: Difference): Promise<{ resolution: 'RESOLVED' | 'REVIEW'; detail: string }> {
    const line = difference.line;
    try {
      if (difference.kind === 'PAID_NOT_RECORDED' && line?.kind === 'payment') {
        const paid = {
          type: 'PAID_CONFIRMED' as const,
          gatewayTradeNo: line.gatewayTradeNo,
          paidAmountFen: line.amountFen,
          paidAt: line.at ?? this.clock.now(),
        };
        const outcome = await inTransaction(this.dataSource, (manager) =>
          this.paymentState.apply(difference.paymentNo, paid, manager),
        );
        if (outcome.payment.status === 'PAID') {
          return { resolution: 'RESOLVED', detail: 'paid at the gateway: recorded PAID from the statement' };
        }
        return {
          resolution: 'REVIEW',
          detail: `paid at the gateway, payment is ${outcome.payment.status}: ${outcome.payment.statusReason ?? ''}`,
        };
      }
      if (difference.kind === 'REFUND_NOT_RECORDED' && line?.kind === 'refund' && difference.refundNo) {
        const refundNo = difference.refundNo;
        const settled = await inTransaction(this.dataSource, (manager) =>
          this.refundState.settle(refundNo, { kind: 'succeeded', gatewayRefundNo: line.gatewayRefundNo }, manager),
        );
        if (!settled) {
          // Settled meanwhile, or in review (a vendor answer did not match it): only an operator ends that.
          const now = await this.paymentCenter.findRefund(difference.refundNo);
          if (now?.status !== 'REFUNDED')
            return { resolution: 'REVIEW', detail: `refunded at the gateway; our refund is ${now?.status ?? 'gone'}` };
        }
        return { resolution: 'RESOLVED', detail: 'refunded at the gateway: recorded REFUNDED from the statement' };
      }
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return { resolution: 'REVIEW', detail: error.message };
    }
    return { resolution: 'REVIEW', detail: REVIEW_ADVICE[difference.kind] ?? difference.kind };
  }

  private view(run: ReconciliationRun, items?: ReconciliationDifference[]): RunView {
    return {
      id: run.id,
      channel: run.channel,
      accountId: run.accountId,
      billDate: run.billDate,
      status: run.status,
      statementLines: run.statementLines,
      differences: run.differences,
      resolved: run.resolved,
      review: run.review,
      error: run.error,
      triggeredBy: run.triggeredBy,
      startedAt: run.startedAt.toISOString(),
      finishedAt: run.finishedAt?.toISOString() ?? null,
      ...(items
        ? {
            items: items.map((i) => ({
              kind: i.kind,
              paymentNo: i.paymentNo,
              refundNo: i.refundNo,
              oursFen: i.oursFen,
              theirsFen: i.theirsFen,
              resolution: i.resolution,
              detail: i.detail,
            })),
          }
        : {}),
    };
  }
}

/** What an operator should check for differences that are not fixed automatically. */
const REVIEW_ADVICE: Partial<Record<Difference['kind'], string>> = {
  UNKNOWN_TRADE: 'the gateway lists a trade we have no payment for: check the merchant account',
  MISSING_AT_GATEWAY: 'PAID here but not in the statement: check the trade at the gateway (or the next day)',
  AMOUNT_MISMATCH: 'the statement amount differs from what we recorded as paid',
  UNKNOWN_REFUND: 'the gateway lists a refund we have no refund for',
  REFUND_MISSING_AT_GATEWAY: 'REFUNDED here but not in the statement',
  REFUND_AMOUNT_MISMATCH: 'the statement refund amount differs from ours',
};
