import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import type { Channel } from '../gateways/gateway.types';
import { BuyerIdentityProviders } from '../gateways/identity/buyer-identity-providers';
import { OrderAlreadyPaid, OrderClosed, OrderExpired } from '../orders/order-errors';
import type { PayOrderDto } from '../orders/dto/pay-order.dto';
import { type CheckoutOrder, OrdersService } from '../orders/orders.service';
import { PaymentAlreadyPaid } from '../payment-center/payment-errors';
import { returnPageOf } from '../payment-center/return-page';
import { BuyerIdentity, type BuyerIdentityRecord } from './buyer-identity.service';
import { type CheckoutPage, choicePage, messagePage, orderStatusPage, payPage } from './checkout-pages';
import { vendorAppOf } from './user-agent';

/** Where the buyer's browser goes next: a vendor's or our page by redirect, or a page of ours. */
export type CheckoutStep = { kind: 'redirect'; url: string } | { kind: 'page'; page: CheckoutPage };

export const CHECKOUT_CODE_PATH = '/pay/code';

const page = (p: CheckoutPage): CheckoutStep => ({ kind: 'page', page: p });

/**
 * The aggregate code (聚合码): one URL per order that pays it in whichever app opens it. Inside WeChat or Alipay the
 * buyer is identified by the vendor's silent OAuth (BuyerIdentity) and pays in-app (`in_app`); inside UnionPay's
 * app, on its phone page (`mobile_web`, channelType 08); in any other browser the buyer picks a channel and pays on
 * its phone page. Every payment goes through the Orders pay path like an application's own request (the order's
 * application, its accounts and rules), so a buyer who pays on two channels is refunded the second time exactly as
 * for any order.
 */
@Injectable()
export class AggregateCheckout {
  constructor(
    @Inject(OrdersService) private readonly orders: OrdersService,
    @Inject(BuyerIdentity) private readonly identity: BuyerIdentity,
    @Inject(BuyerIdentityProviders) private readonly providers: BuyerIdentityProviders,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  urlOf(code: string): string {
    return `${this.config.publicBaseUrl.replace(/\/+$/, '')}${CHECKOUT_CODE_PATH}/${code}`;
  }

  /** The code opened: by the vendor app it is opened in. */
  async open(code: string, userAgent: string | undefined): Promise<CheckoutStep> {
    const order = await this.orders.orderOfCheckoutCode(code);
    if (!order) return page(messagePage(404, 'Not found', 'This payment code is not known here.'));
    const finished = this.finished(order);
    if (finished) return finished;
    const app = vendorAppOf(userAgent);
    if ((app === 'wechat' || app === 'alipay') && this.providers.of(app)) {
      const { authorizeUrl } = await this.identity.begin(order.applicationId, app, { kind: 'pay', checkoutCode: code });
      return { kind: 'redirect', url: authorizeUrl };
    }
    // Without Alipay's OAuth here, its phone page (which opens inside Alipay's app too); UnionPay's app pays on its
    // phone page.
    if (app === 'alipay' || app === 'unionpay') return this.pay(order, app, { mode: 'mobile_web' });
    const note = app === 'wechat' ? 'WeChat Pay inside WeChat is not set up here: choose another way.' : undefined;
    return page(choicePage(code, order.amountFen, note));
  }

  /** A plain browser's choice: the channel's phone page (WeChat H5 needs the buyer's IP, which we see). */
  async choose(code: string, channel: Channel, clientIp: string | undefined): Promise<CheckoutStep> {
    const order = await this.orders.orderOfCheckoutCode(code);
    if (!order) return page(messagePage(404, 'Not found', 'This payment code is not known here.'));
    const finished = this.finished(order);
    if (finished) return finished;
    return this.pay(order, channel, { mode: 'mobile_web', ...(channel === 'wechat' ? { clientIp } : {}) });
  }

  /** Back from the vendor's OAuth: pay in the vendor's app as the buyer it named. */
  async afterIdentity(record: BuyerIdentityRecord & { next: { kind: 'pay' } }): Promise<CheckoutStep> {
    const order = await this.orders.orderOfCheckoutCode(record.next.checkoutCode);
    if (!order || order.applicationId !== record.applicationId) {
      return page(messagePage(404, 'Not found', 'This payment code is not known here.'));
    }
    const finished = this.finished(order);
    if (finished) return finished;
    if (record.status !== 'IDENTIFIED' || !record.payerId) {
      return page(choicePage(record.next.checkoutCode, order.amountFen, 'The app did not say who pays: choose a way.'));
    }
    return this.pay(order, record.channel, { mode: 'in_app', payerId: record.payerId });
  }

  private finished(order: CheckoutOrder): CheckoutStep | undefined {
    if (order.status === 'PAID') return page(orderStatusPage('paid', order.amountFen));
    if (order.status === 'CLOSED' || order.expiresAt <= new Date()) {
      return page(orderStatusPage('closed', order.amountFen));
    }
    return undefined;
  }

  private async pay(
    order: CheckoutOrder,
    channel: Channel,
    way: Pick<PayOrderDto, 'mode' | 'payerId' | 'clientIp'>,
  ): Promise<CheckoutStep> {
    let payment;
    try {
      payment = await this.orders.pay(order.applicationId, order.orderNo, { channel, ...way });
    } catch (error) {
      if (error instanceof OrderAlreadyPaid || error instanceof PaymentAlreadyPaid) {
        return page(orderStatusPage('paid', order.amountFen));
      }
      if (error instanceof OrderClosed || error instanceof OrderExpired) {
        return page(orderStatusPage('closed', order.amountFen));
      }
      if (error instanceof DomainError) {
        return page(messagePage(409, 'Cannot pay this way now', `${error.message} Try again or choose another way.`));
      }
      throw error;
    }
    if (payment.status === 'PAID') return page(orderStatusPage('paid', order.amountFen));
    const credential = payment.payCredential;
    if (!credential) return page(messagePage(503, 'Please try again', 'The payment service did not answer in time.'));
    if (credential.type === 'redirect') return { kind: 'redirect', url: credential.url };
    const shown = payPage(channel, credential, order.amountFen, returnPageOf(this.config, payment.paymentNo));
    return page(shown ?? messagePage(500, 'Cannot pay this way', `No page for a ${credential.type} payment.`));
  }
}
