import { type CanActivate, type ExecutionContext, type INestApplication, Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { MetricsService } from './metrics.service';

/** Status recorded for a request whose client hung up before the answer was sent (nginx's convention). */
export const CLIENT_CLOSED_REQUEST = 499;

const MATCHED_ROUTE = Symbol('payment-center:matched-route');
type TimedRequest = Request & { [MATCHED_ROUTE]?: string };

/**
 * The route a request matched, as declared (`/api/orders/:orderNo`), never the raw path: one series per
 * route, not one per order number.
 */
export function routeTemplate(request: { baseUrl?: string; route?: { path?: unknown } }): string {
  const path = request.route?.path;
  return typeof path === 'string' ? `${request.baseUrl ?? ''}${path}` : 'unmatched';
}

/**
 * Notes the route template on every request that reached a controller route (a global guard runs before
 * any other guard, pipe or handler). Nest's middleware are wildcard routes themselves, so `request.route`
 * alone cannot tell a 404 from the router apart from a handler's own 404; requests never noted here are
 * `unmatched`.
 */
@Injectable()
export class MatchedRouteGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<TimedRequest>();
      request[MATCHED_ROUTE] = routeTemplate(request);
    }
    return true;
  }
}

/**
 * Times every HTTP request, from the first middleware to the last byte (or the client hanging up). Mounted
 * by useHttpMetrics in front of the body parsers, so a request refused before routing (a body that is not
 * JSON, a vendor's broken callback) is counted too, as `unmatched`.
 */
export function httpMetrics(metrics: MetricsService) {
  return (request: TimedRequest, response: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    response.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = response.writableFinished ? response.statusCode : CLIENT_CLOSED_REQUEST;
      metrics.httpRequest(request.method, request[MATCHED_ROUTE] ?? 'unmatched', status, seconds);
    });
    next();
  };
}

/** Mounts httpMetrics in front of everything the app mounts but the request log (see configureApp). */
export function useHttpMetrics(app: INestApplication): void {
  app.use(httpMetrics(app.get(MetricsService)));
}
