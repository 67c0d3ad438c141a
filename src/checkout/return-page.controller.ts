import {
  applyDecorators,
  Controller,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  Post,
  Res,
} from '@nestjs/common';
import { SkipIdempotency } from '../idempotency/idempotency-context';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { PaymentCenter, type ReturnPageView } from '../payment-center/payment-center.service';
import { RETURN_PAGE_PATH } from '../payment-center/return-page';
import { BUYER_PAGE_CSP, buyerPage, CHANNEL_NAMES, escapeHtml, yuanText } from './html';

/** The return page's headers: HTML under the buyer pages' policy, never sniffed, cached or sent as a referrer. */
const PageHeaders = () =>
  applyDecorators(
    Header('Content-Type', 'text/html; charset=utf-8'),
    Header('Content-Security-Policy', BUYER_PAGE_CSP),
    Header('X-Content-Type-Options', 'nosniff'),
    Header('Referrer-Policy', 'no-referrer'),
    Header('Cache-Control', 'no-store'),
  );

/** Our payment numbers (`P` + yyyyMMddHHmmss + 14 digits): anything else is not looked up. */
const PAYMENT_NO = /^P[0-9]{28}$/;

/** While the payment may still be paid, the page asks again this often (a meta refresh: no script). */
const REFRESH_SECONDS = 3;

/**
 * The page a vendor sends the buyer back to after its own page (Alipay return_url, WeChat H5 redirect_url,
 * UnionPay frontUrl). It decides nothing and believes nothing the redirect carries (vendors append their own
 * parameters, and anyone can forge them): it shows the status our server holds, asking the vendor first while the
 * payment is still open, and links to the merchant's allow-listed page with the payment number, where the
 * merchant asks our API. Public (the buyer's browser holds no key); a payment number is 14 random digits past its
 * time, and the page shows no more than the buyer saw at the vendor.
 */
@ApiExcludeController()
@Controller(RETURN_PAGE_PATH.slice(1))
export class ReturnPageController {
  constructor(@Inject(PaymentCenter) private readonly paymentCenter: PaymentCenter) {}

  @Get(':paymentNo')
  @PageHeaders()
  async page(@Param('paymentNo') paymentNo: string, @Res({ passthrough: true }) res: Response): Promise<string> {
    const payment = PAYMENT_NO.test(paymentNo) ? await this.paymentCenter.paymentForReturnPage(paymentNo) : undefined;
    if (!payment) {
      res.status(404);
      return buyerPage('Payment not found', '<main class="status-unpaid"><h1>Payment not found</h1></main>');
    }
    return render(payment);
  }

  /** UnionPay brings the buyer back with a form POST of its signed result (frontUrl): the same page; body unread. */
  @Post(':paymentNo')
  @HttpCode(HttpStatus.OK)
  @SkipIdempotency()
  @PageHeaders()
  posted(@Param('paymentNo') paymentNo: string, @Res({ passthrough: true }) res: Response): Promise<string> {
    return this.page(paymentNo, res);
  }
}

function render(payment: ReturnPageView): string {
  const [state, title, text] =
    payment.status === 'PAID'
      ? ['PAID', 'Paid', 'The payment is complete.']
      : payment.status === 'CREATED' || payment.status === 'PAYING'
        ? ['waiting', 'Waiting for the payment', 'Not confirmed yet: this page checks again by itself.']
        : ['unpaid', 'Not paid', 'Nothing was taken for this payment.'];
  const back = payment.returnUrl ? backLink(payment.returnUrl, payment) : '';
  const body =
    `<main class="status-${state}" data-status="${escapeHtml(payment.status)}">` +
    `<h1>${escapeHtml(title)}</h1><p class="amount">${escapeHtml(yuanText(payment.amountFen))}</p>` +
    `<p>${escapeHtml(text)}</p><small>${escapeHtml(CHANNEL_NAMES[payment.channel])} · ` +
    `${escapeHtml(payment.paymentNo)}</small><br>${back}</main>`;
  return buyerPage(title, body, state === 'waiting' ? { refreshSeconds: REFRESH_SECONDS } : {});
}

/** The merchant's page with the payment and order numbers: the merchant then asks our API, as this page did. */
function backLink(returnUrl: string, payment: ReturnPageView): string {
  const url = new URL(returnUrl);
  url.searchParams.set('paymentNo', payment.paymentNo);
  url.searchParams.set('orderNo', payment.orderNo);
  return `<a class="back" rel="noreferrer" href="${escapeHtml(url.toString())}">Back to the shop</a>`;
}
