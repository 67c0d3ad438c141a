import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { getQueueToken } from '@nestjs/bull';
import type { INestApplication } from '@nestjs/common';
import type { Queue } from 'bull';
import type { NextFunction, Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { REDIS } from '../common/redis/redis.module';
import { AppConfig } from '../config/app-config';
import type { AdminTokenConfig } from '../config/environment';
import { MetricsService } from '../metrics/metrics.service';
import { findAdminToken } from './auth/admin-auth.guard';
import { FailedSignIns } from './auth/failed-sign-ins';
import { PAYMENT_QUERIES_QUEUE } from '../payment-center/recovery/recovery-slots';
import { BOARD_COOKIE, BOARD_PATH, cookieValue, verifyBoardSession } from './board-session';

export const BOARD_SCOPE = 'queues:read';

/**
 * The board's pages load their scripts and styles from the board itself; nothing else is fetched (its
 * HTML names a web font on the internet, which an operator's browser need not ask for).
 */
const BOARD_CSP = [
  "default-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/**
 * bull-board for the recovery queue (`payment-queries`, under RECOVERY_QUEUE_PREFIX), at /admin/queues.
 *
 * Read-only twice over: every queue is added in bull-board's `readOnlyMode`, and only GET and HEAD reach
 * it. Its job actions (retry, promote, clean, remove, pause) would change recovery behind the audit log
 * and the claims; a job is only a wake-up call anyway, the payment row says what is due.
 *
 * Authentication: the admin token with the `queues:read` scope, as a bearer header (scripts) or as the
 * short-lived session cookie the console sets after signing in (browsers; see board-session.ts).
 */
export function mountQueueBoard(app: INestApplication): void {
  const config = app.get(AppConfig);
  const clock = app.get(Clock);
  const queue = app.get<Queue>(getQueueToken(PAYMENT_QUERIES_QUEUE), { strict: false });
  const board = new ExpressAdapter().setBasePath(BOARD_PATH);
  createBullBoard({
    queues: [
      new BullAdapter(queue, {
        readOnlyMode: true,
        description: `Gateway queries and refund sends, Redis prefix ${config.recovery.queuePrefix}`,
      }),
    ],
    serverAdapter: board,
    options: {
      uiConfig: {
        boardTitle: 'Payment Center',
        hideDocsLink: true,
        miscLinks: [{ text: 'Admin console', url: '/admin' }],
      },
    },
  });
  const failures = new FailedSignIns(app.get(DataSource), app.get<Redis>(REDIS), clock, app.get(MetricsService));
  app.use(BOARD_PATH, boardGuard(config, clock, failures), board.getRouter());
}

function boardGuard(config: AppConfig, clock: Clock, failures: FailedSignIns) {
  return (request: Request, response: Response, next: NextFunction): void => {
    response.setHeader('Content-Security-Policy', BOARD_CSP);
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Referrer-Policy', 'no-referrer');
    response.setHeader('Cache-Control', 'no-store');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      response.status(405).json({ code: 'METHOD_NOT_ALLOWED', message: 'The queue board is read-only.' });
      return;
    }
    const token = tokenOf(request, config.adminTokens, clock.now(), failures);
    if (!token) {
      response.status(401);
      if (request.accepts(['json', 'html']) === 'html') {
        response.type('html').send(SIGN_IN_FIRST);
      } else {
        response.json({ code: 'UNAUTHENTICATED', message: 'Sign in at /admin (or send an admin bearer token).' });
      }
      return;
    }
    if (!token.scopes.includes(BOARD_SCOPE)) {
      response.status(403).json({ code: 'FORBIDDEN', message: `This token lacks the ${BOARD_SCOPE} scope.` });
      return;
    }
    next();
  };
}

function tokenOf(
  request: Request,
  tokens: readonly AdminTokenConfig[],
  now: Date,
  failures: FailedSignIns,
): AdminTokenConfig | undefined {
  const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
  if (bearer) {
    const found = findAdminToken(tokens, bearer[1]);
    if (!found) failures.note(request, 'unknown_token');
    return found;
  }
  // An expired or stale cookie is a browser coming back after its session ended, not a guess: not audited.
  const session = cookieValue(request.headers.cookie, BOARD_COOKIE);
  return session ? verifyBoardSession(tokens, session, now) : undefined;
}

const SIGN_IN_FIRST = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Queue board</title></head>
<body style="font-family:system-ui,sans-serif;margin:3rem">
<h1 style="font-size:1.2rem">Queue board: sign in first</h1>
<p>Open the queue board from the <a href="/admin">admin console</a> after signing in with a token that has the
<code>queues:read</code> scope. Its session lasts 15 minutes.</p></body></html>`;
