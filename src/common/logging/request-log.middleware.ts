import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { withLogContext } from './log-context';

/** A caller's X-Request-Id is kept when it looks like an id; anything else is replaced, never logged raw. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** Scrapes and health checks would drown the requests worth reading: they get an id but no line. */
const unlogged = (url: string) => url === '/metrics' || url.startsWith('/health');

/**
 * Node's request, as middleware get it on Express and on Fastify (@fastify/middie) alike; both set
 * `originalUrl` before the first middleware runs.
 */
type Request = IncomingMessage & { method: string; url: string; originalUrl?: string };
type Response = ServerResponse;

function requestIdOf(request: Request): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The id requestLog gave a request, for the middleware that opens its log context. */
const requestIds = new WeakMap<object, string>();

/**
 * Per request, first of everything (before the body is parsed, so a body that cannot be parsed is logged
 * too): its id (the caller's X-Request-Id or a new UUID, sent back) and one line when the response is done:
 * `request completed` (`req` with id, method and URL, `res` with the status, `responseTime` in ms), or
 * `request errored` with `err` for a 5xx or a failed response. The same lines pino-http wrote, without its
 * per-request child loggers, which cost a quarter of a small request's CPU. The numbers of the work in hand
 * (orderNo, …) come onto the line from the log context `requestLogContext` opens.
 */
export function requestLog(logger: () => Logger) {
  return (request: Request, response: Response, next: () => void): void => {
    const reqId = requestIdOf(request);
    requestIds.set(request, reqId);
    response.setHeader(REQUEST_ID_HEADER, reqId);
    const started = Date.now();
    const req = { id: reqId, method: request.method, url: request.originalUrl ?? request.url };
    let done = false;
    const finished = (error?: Error) => {
      if (done) return;
      done = true;
      const status = response.statusCode;
      const responseTime = Date.now() - started;
      const res = { statusCode: status };
      if (error || status >= 500) {
        const err = error ?? new Error(`failed with status code ${status}`);
        logger().error({ reqId, req, res, err, responseTime }, 'request errored');
      } else {
        logger()[status >= 400 ? 'warn' : 'info']({ reqId, req, res, responseTime }, 'request completed');
      }
    };
    // The first of these ends the request: 'finish' when the answer is out, 'close' when the client hung up first.
    if (!unlogged(request.originalUrl ?? request.url)) {
      const ended = () => finished();
      response.on('finish', ended);
      response.on('close', ended);
    }
    response.on('error', finished);
    next();
  };
}

/**
 * A log context per request that carries `reqId` onto every line written while handling it, and the
 * numbers added to it on the way (see log-context.ts). Opened after the body is parsed: work that continues
 * from the body's stream events would not run inside a context opened before.
 */
export function requestLogContext(request: object, _response: unknown, next: () => void): void {
  const reqId = requestIds.get(request);
  withLogContext(reqId ? { reqId } : {}, next);
}
