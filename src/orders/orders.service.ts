import { randomBytes } from 'node:crypto';
import { ApplicationsService } from '../applications/applications.service';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { addLogContext } from '../common/logging/log-context';
import { IdempotencyKeyReused, RequestValidationFailed } from '../common/errors/domain-error';
import { type IdempotencyContext, Replayed } from '../idempotency/idempotency-context';
import { newOrderNo } from '../common/ids';
import { type Fen, sumFen } from '../common/money';
import { inTransaction } from '../database/transaction';
import { PaymentCenter } from '../payment-center/payment-center.service';
import type { PaymentView } from '../payment-center/payment.view';
import type { CreateOrderDto } from './dto/create-order.dto';
import type { PayOrderDto } from './dto/pay-order.dto';
import { OrderAlreadyPaid, OrderClosed, OrderExpired, OrderNotFound } from './order-errors';
import { Order, OrderItem } from './order.entity';
import { ORDER_TRANSITIONS } from './order-state';
import { toOrderView, type OrderView, type OrderWithPayments } from './order.view';
import { OrdersRepository } from './orders.repository';

/** What the aggregate code's pages know of an order. */
export interface CheckoutOrder {
  orderNo: string;
  applicationId: string;
  amountFen: Order['amountFen'];
  status: Order['status'];
  expiresAt: Date;
  paymentNo: string | null;
}

/**
 * Checkout. Orders is a business application of the PaymentCenter like any partner's: it starts payments
 * and reads their status only through PaymentCenter's public interface and never touches payment tables.
 */
@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(PaymentCenter) private readonly paymentCenter: PaymentCenter,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(ApplicationsService) private readonly applications: ApplicationsService,
  ) {}

  /**
   * Creates an order, or returns the one this same request already created. The duplicate-submission key
   * is a column of the order with a unique index, so the order's own INSERT claims it: duplicates cannot
   * create a second order even when Redis is down or was flushed, and the claim costs no statement of its
   * own. A concurrent duplicate's INSERT waits for the first transaction and then finds its order (or
   * inserts, if that one rolled back). With Redis up, the guard catches duplicates first (`admitted`).
   */
  async create(
    applicationId: string,
    dto: CreateOrderDto,
    guard: IdempotencyContext | undefined,
  ): Promise<OrderView | Replayed<OrderView>> {
    const items = dto.items.map((item, index) => {
      const line = new OrderItem();
      line.lineNo = index + 1;
      line.sku = item.sku;
      line.name = item.name;
      line.quantity = item.quantity;
      line.unitPriceFen = item.unitPriceFen;
      line.amountFen = item.unitPriceFen * item.quantity;
      return line;
    });
    const amountFen = sumFen(items.map((item) => item.amountFen));
    if (amountFen <= 0 || amountFen > this.config.orders.maxAmountFen) {
      throw new RequestValidationFailed([
        {
          field: 'items',
          messages: [`order total must be between 1 and ${this.config.orders.maxAmountFen} fen, got ${amountFen}`],
        },
      ]);
    }

    // A key held by an expired order (a derived key's short window has passed: the same body is a new
    // purchase) is freed by a transaction of its own that takes the row's exclusive lock first, so that
    // copies arriving together queue behind one another rather than deadlock. A few tries at most.
    let created: OrderView | Replayed<OrderView> | 'key expired' = 'key expired';
    for (let attempt = 1; created === 'key expired'; attempt++) {
      if (attempt > 3) throw new Error(`the idempotency key of a new order was still taken after ${attempt - 1} tries`);
      created = await inTransaction(this.dataSource, (manager) =>
        this.insertOrder(manager, applicationId, dto, items, amountFen, guard, attempt > 1),
      );
    }
    if (!(created instanceof Replayed)) this.logger.log(`order created: ${amountFen} fen, ${items.length} line(s)`);
    return created;
  }

  /**
   * One try at the order's transaction: the new order, or the live one holding its key, or 'key expired'
   * when an expired order still holds it (nothing written).
   */
  private async insertOrder(
    manager: EntityManager,
    applicationId: string,
    dto: CreateOrderDto,
    items: OrderItem[],
    amountFen: Fen,
    guard: IdempotencyContext | undefined,
    freeExpiredKey: boolean,
  ): Promise<OrderView | Replayed<OrderView> | 'key expired'> {
    // The guard's Redis claim was sent alongside this transaction's start: a duplicate it caught rolls the
    // transaction back here, before anything is written (its answer is the guard's: a replay or a 409).
    await guard?.admitted;
    const now = this.clock.now();
    const order = new Order();
    order.orderNo = newOrderNo();
    order.applicationId = applicationId;
    order.buyerId = dto.buyerId;
    order.currency = dto.currency ?? 'CNY';
    order.amountFen = amountFen;
    order.status = 'CREATED';
    order.expiresAt = new Date(now.getTime() + this.config.orders.expiresInMs);
    order.nextCheckAt = order.expiresAt; // unpaid by then: the order's timer closes it
    order.paymentNo = null;
    order.channel = null;
    order.checkoutCode = null;
    order.version = 0;
    order.createdAt = now;
    order.updatedAt = now;
    order.idempotencyKey = guard?.key ?? null;
    order.idempotencyRequestHash = guard?.requestHash ?? null;
    order.idempotencyExpiresAt = guard ? new Date(now.getTime() + guard.ttlMs) : null;
    order.items = items;
    addLogContext({ orderNo: order.orderNo });
    if (guard && freeExpiredKey) await this.orders.releaseExpiredIdempotencyKey(manager, guard.key, now);
    if (await this.orders.insert(manager, order)) return toOrderView(order);
    const holder = await this.orders.lockByIdempotencyKey(manager, order.idempotencyKey as string);
    if (!holder?.idempotencyExpiresAt || holder.idempotencyExpiresAt <= now) return 'key expired';
    if (holder.idempotencyRequestHash !== order.idempotencyRequestHash) throw new IdempotencyKeyReused();
    addLogContext({ orderNo: holder.orderNo });
    return new Replayed(toOrderView(holder));
  }

  /** `applicationId`'s order; another application's is ORDER_NOT_FOUND, like none (it must not learn it exists). */
  /** An order that may still be paid (CREATED or PAYING, before its expiry); the time it was checked at. */
  private assertPayable(order: Order): Date {
    const now = this.clock.now();
    switch (order.status) {
      case 'PAID':
        throw new OrderAlreadyPaid(order.orderNo);
      case 'CLOSED':
        throw new OrderClosed(order.orderNo);
      case 'CREATED':
      case 'PAYING':
        break;
    }
    if (now >= order.expiresAt) throw new OrderExpired(order.orderNo, order.expiresAt);
    return now;
  }

  async get(applicationId: string, orderNo: string): Promise<OrderWithPayments> {
    const order = await this.orders.findByOrderNo(orderNo);
    if (!order || order.applicationId !== applicationId) throw new OrderNotFound(orderNo);
    return { ...toOrderView(order), payments: await this.paymentCenter.listPaymentsOfOrder(orderNo) };
  }

  /**
   * The order's aggregate code (made the first time it is asked for): the secret part of the one URL the buyer opens
   * in any app or browser. Only an order that can still be paid gets one.
   */
  async checkoutCodeOf(applicationId: string, orderNo: string): Promise<{ code: string; expiresAt: Date }> {
    const order = await this.orders.findByOrderNo(orderNo);
    if (!order || order.applicationId !== applicationId) throw new OrderNotFound(orderNo);
    this.assertPayable(order);
    if (order.checkoutCode) return { code: order.checkoutCode, expiresAt: order.expiresAt };
    const code = randomBytes(16).toString('hex');
    if (await this.orders.setCheckoutCode(orderNo, code)) return { code, expiresAt: order.expiresAt };
    // Another request gave it one first: that one stands.
    const again = await this.orders.findByOrderNo(orderNo);
    return { code: again?.checkoutCode ?? code, expiresAt: order.expiresAt };
  }

  /** The order an aggregate code names (the code is the buyer's only credential: the page shows no more than it pays). */
  async orderOfCheckoutCode(code: string): Promise<CheckoutOrder | undefined> {
    const order = /^[0-9a-f]{32}$/.test(code) ? await this.orders.findByCheckoutCode(code) : null;
    if (!order?.applicationId) return undefined;
    const { orderNo, applicationId, amountFen, status, expiresAt, paymentNo } = order;
    // The order learns of a payment's success from its event, a moment after the payment: ask the payments too.
    const paid =
      status === 'PAID' ||
      (status === 'PAYING' && (await this.paymentCenter.listPaymentsOfOrder(orderNo)).some((p) => p.status === 'PAID'));
    return { orderNo, applicationId, amountFen, status: paid ? 'PAID' : status, expiresAt, paymentNo };
  }

  /** Starts or resumes paying the order with a channel; see StartPaymentUseCase for the rules. */
  async pay(applicationId: string, orderNo: string, request: PayOrderDto): Promise<PaymentView> {
    const order = await this.orders.findByOrderNo(orderNo);
    if (!order || order.applicationId !== applicationId) throw new OrderNotFound(orderNo);
    this.assertPayable(order);
    // The return page links the buyer back only to the application's own pages (never an open redirect).
    const refusal = request.returnUrl && (await this.applications.returnUrlRefusal(applicationId, request.returnUrl));
    if (refusal) throw new RequestValidationFailed([{ field: 'returnUrl', messages: [refusal] }]);

    const payment = await this.paymentCenter.startPayment({
      orderNo,
      applicationId,
      amountFen: order.amountFen,
      currency: order.currency,
      channel: request.channel,
      accountId: request.accountId,
      barcode: request.authCode === undefined ? undefined : { authCode: request.authCode, terminal: request.terminal },
      mode: request.mode,
      payerId: request.payerId,
      appId: request.appId,
      clientIp: request.clientIp,
      returnUrl: request.returnUrl,
      description: describe(order),
      expiresAt: order.expiresAt,
    });

    // The common case, a new order's first payment: one compare-and-set (CREATED, no payment yet).
    const first = ORDER_TRANSITIONS.CREATED.PAYMENT_STARTED;
    if (order.status === 'CREATED' && order.paymentNo === null && first !== 'ignore') {
      const at = this.clock.now();
      const nextCheckAt = new Date(at.getTime() + this.config.orders.check.afterMs);
      const change = { to: first, paymentNo: payment.paymentNo, channel: payment.channel, nextCheckAt };
      if (await this.orders.startFirstPayment(orderNo, change, at)) return payment;
    }

    // Which payment the order points at: the newest one started. Read the current one before locking
    // (Orders only reads payments through the PaymentCenter) and decide under the order's row lock.
    const current = order.paymentNo && order.paymentNo !== payment.paymentNo ? order.paymentNo : null;
    const currentStartedAt = current ? (await this.paymentCenter.getPayment(current)).createdAt : null;
    await inTransaction(this.dataSource, async (manager) => {
      const locked = await this.orders.lockByOrderNo(manager, orderNo);
      if (!locked) throw new OrderNotFound(orderNo);
      const next = ORDER_TRANSITIONS[locked.status].PAYMENT_STARTED;
      const moves = next !== 'ignore';
      const newer =
        locked.paymentNo === null ||
        (locked.paymentNo === current && currentStartedAt !== null && payment.createdAt > currentStartedAt);
      // A paid or closed order is never repointed; a PAYING one only to a newer payment.
      if (!moves && !(locked.status === 'PAYING' && newer)) return;
      if (moves) locked.status = next;
      // Heard nothing by then: the order's timer asks the PaymentCenter.
      locked.nextCheckAt = new Date(this.clock.now().getTime() + this.config.orders.check.afterMs);
      if (moves || newer) {
        locked.paymentNo = payment.paymentNo;
        locked.channel = payment.channel;
      }
      locked.version += 1;
      locked.updatedAt = this.clock.now();
      await this.orders.save(manager, locked);
    });
    return payment;
  }
}

/** What the buyer sees on the vendor's page: the first item, and how many more. */
function describe(order: Order): string {
  const first = [...order.items].sort((a, b) => a.lineNo - b.lineNo)[0];
  const name = first?.name ?? order.orderNo;
  return order.items.length > 1 ? `${name} +${order.items.length - 1}` : name;
}
