import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { Request, Response } from 'express';
import { LoggerModule, type Params } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { currentLogContext, withLogContext } from './log-context';
import { LogContextInterceptor } from './log-context.interceptor';

/** Nest's level names → pino's. */
const PINO_LEVELS = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
} as const;

/** A caller's X-Request-Id is kept when it looks like an id; anything else is replaced, never logged raw. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * Everything that could hold a secret, wherever it turns up in a logged object. Requests are logged
 * without headers or bodies at all (see the serializers); this is the second line.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.privateKey',
  '*.apiV3Key',
  '*.key',
];

export function loggerParams(config: AppConfig): Params<Request, Response> {
  return {
    pinoHttp: {
      level: PINO_LEVELS[config.logLevel],
      messageKey: 'msg',
      base: { service: 'payment-center' },
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      // orderNo / paymentNo / refundNo / eventId of the work in hand, on every line (see log-context.ts).
      mixin: () => currentLogContext(),
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader(REQUEST_ID_HEADER, id);
        return id;
      },
      quietReqLogger: true, // lines inside a request carry `reqId`, not the whole request
      customAttributeKeys: { reqId: 'reqId' },
      // Our serializers read the raw request and response: pino-http's wrapping would first copy each into a
      // full object (headers and all) only for these three fields to be picked from it, twice per request.
      wrapSerializers: false,
      serializers: {
        req: (req: { id: string; method: string; url: string; originalUrl?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.originalUrl ?? req.url,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === '/metrics' || req.url?.startsWith('/health') === true },
      customLogLevel: (_req, res, error) =>
        error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    },
  };
}

/**
 * Structured JSON logs (pino through nestjs-pino): one line per request with its id (X-Request-Id, taken
 * from the caller or made here, and sent back), and the money path's numbers on every line.
 */
@Module({
  imports: [LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: loggerParams })],
  providers: [{ provide: APP_INTERCEPTOR, useClass: LogContextInterceptor }],
})
export class LoggingModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // A fresh context per request, so numbers added while handling it stay with it.
    consumer.apply((_req: Request, _res: Response, next: () => void) => withLogContext({}, next)).forRoutes('*path');
  }
}
