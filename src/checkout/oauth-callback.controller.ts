import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { CHANNELS, type Channel } from '../gateways/gateway.types';
import { BuyerIdentityProviders } from '../gateways/identity/buyer-identity-providers';
import { AggregateCheckout } from './aggregate-checkout.service';
import { BuyerIdentity, OAUTH_CALLBACK_PATH } from './buyer-identity.service';
import { sendStep } from './send-step';
import { BUYER_PAGE_CSP, buyerPage } from './html';

/**
 * Where the vendor's OAuth page sends the buyer back (register `<PUBLIC_BASE_URL>/pay/oauth/<channel>`'s host
 * with the vendor: WeChat's web authorisation domain, Alipay's authorisation redirect URL). The code is exchanged
 * once; the buyer is then sent on to the merchant's page with the request's id, never with the buyer id itself.
 */
/** A vendor's one-time OAuth code: WeChat's 32 characters, Alipay's 32 hex; some room either side. */
const OAUTH_CODE = /^[A-Za-z0-9_-]{8,128}$/;

@ApiExcludeController()
@Controller(OAUTH_CALLBACK_PATH.slice(1))
export class OAuthCallbackController {
  constructor(
    @Inject(BuyerIdentity) private readonly identity: BuyerIdentity,
    @Inject(BuyerIdentityProviders) private readonly providers: BuyerIdentityProviders,
    @Inject(AggregateCheckout) private readonly checkout: AggregateCheckout,
  ) {}

  @Get(':channel')
  async callback(
    @Param('channel') channel: string,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    res.setHeader('Content-Security-Policy', BUYER_PAGE_CSP);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    const known = (CHANNELS as readonly string[]).includes(channel) ? (channel as Channel) : undefined;
    const provider = known && this.providers.of(known);
    const state = typeof query.state === 'string' ? query.state : '';
    const given = provider ? query[provider.codeParameter] : undefined;
    // Vendors' codes are short tokens; anything else is not sent on to the vendor (the request then fails).
    const code = typeof given === 'string' && OAUTH_CODE.test(given) ? given : undefined;
    const record = known ? await this.identity.complete(known, state, code) : undefined;
    if (!record) {
      res
        .status(404)
        .type('html')
        .send(
          buyerPage(
            'Link expired',
            '<main class="status-unpaid"><h1>This link has expired or was used</h1>' +
              '<p>Go back to the shop and start again.</p></main>',
          ),
        );
      return;
    }
    if (record.next.kind === 'return') {
      const back = new URL(record.next.returnUrl);
      back.searchParams.set('identityId', record.id);
      res.redirect(302, back.toString());
      return;
    }
    // The aggregate code's buyer: on to pay in the app as the buyer the vendor named.
    sendStep(res, await this.checkout.afterIdentity({ ...record, next: record.next }));
  }
}
