import type { Response } from 'express';
import type { CheckoutStep } from './aggregate-checkout.service';
import { BUYER_PAGE_CSP } from './html';

/** Sends a checkout step: a redirect, or a page under the buyer pages' policy (its script and form origins added). */
export function sendStep(res: Response, step: CheckoutStep): void {
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  if (step.kind === 'redirect') {
    res.redirect(303, step.url);
    return;
  }
  let csp = BUYER_PAGE_CSP;
  if (step.page.script) csp = csp.replace("default-src 'none';", "default-src 'none'; script-src 'self';");
  // A form's post may be redirected to a vendor (the choice leads to the channel's page): browsers hold redirects
  // after a post to form-action too, so a page whose forms post here and are sent on names no form-action at all.
  if (step.page.formAction === '*') csp = csp.replace(" form-action 'none';", '');
  else if (step.page.formAction) csp = csp.replace("form-action 'none'", `form-action 'self' ${step.page.formAction}`);
  else csp = csp.replace("form-action 'none'", "form-action 'self'");
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.status(step.page.status).type('html').send(step.page.html);
}
