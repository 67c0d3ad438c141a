import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CanActivate, type ExecutionContext, type INestApplication, Injectable } from '@nestjs/common';
import { nodeRequest } from '../common/http-platform';
import { MetricsService } from './metrics.service';

/** Status recorded for a request whose client hung up before the answer was sent (nginx's convention). */
export const CLIENT_CLOSED_REQUEST = 499;

const MATCHED_ROUTE = Symbol('payment-center:matched-route');
// A server request always has its method (Node types it optional for client-side messages).
type TimedRequest = IncomingMessage & { method: string; [MATCHED_ROUTE]?: string };

/** What a request says of the route it matched: Express's router match, or Fastify's route options. */
interface RoutedRequest {
  baseUrl?: string;
  route?: { path?: unknown };
  routeOptions?: { url?: unknown };
}

/**
 * The route a request matched, as declared (`/api/orders/:orderNo`), never the raw path: one series per
 * route, not one per order number.
 */
export function routeTemplate(request: RoutedRequest): string {
  // Fastify: the route's whole path as registered (undefined when no route matched).
  const url = request.routeOptions?.url;
  if (typeof url === 'string') return url;
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
      const request = context.switchToHttp().getRequest<RoutedRequest & object>();
      // On Node's request, the one httpMetrics is handed on every platform.
      nodeRequest<TimedRequest>(request)[MATCHED_ROUTE] = routeTemplate(request);
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
  return (request: TimedRequest, response: ServerResponse, next: () => void): void => {
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
