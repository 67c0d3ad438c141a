import type { Response } from 'express';
import type { CheckoutStep } from './aggregate-checkout.service';
import { buyerPageCsp } from './html';

/** Sends a checkout step: a redirect, or a page under the buyer pages' policy (its script and form origins added). */
export function sendStep(res: Response, step: CheckoutStep): void {
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  if (step.kind === 'redirect') {
    res.redirect(303, step.url);
    return;
  }
  res.setHeader('Content-Security-Policy', buyerPageCsp(step.page));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.status(step.page.status).type('html').send(step.page.html);
}
