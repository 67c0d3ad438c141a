import type { IncomingMessage, ServerResponse } from 'node:http';
import { type INestApplication, Inject, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_INTERCEPTOR, HttpAdapterHost } from '@nestjs/core';
import type { Request, Response } from 'express';
import { LoggerModule, type Params, PinoLogger } from 'nestjs-pino';
import type { Options } from 'pino-http';
import { destination } from 'pino';
import { AppConfig } from '../../config/app-config';
import { countDroppedLogLines } from './dropped-lines';
import { currentLogContext, outsideLogContext } from './log-context';
import { LogContextInterceptor } from './log-context.interceptor';
import { requestLog, requestLogContext } from './request-log.middleware';

export { REQUEST_ID_HEADER } from './request-log.middleware';

/** Nest's level names → pino's. */
const PINO_LEVELS = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
} as const;

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

const CENSOR = '[redacted]';
/** The names of REDACTED_PATHS' `*.name` paths. */
const ANY_FIELD = REDACTED_PATHS.filter((path) => path.startsWith('*.')).map((path) => path.slice(2));
/** Fields pino serializes before it writes them (our serializers, its `err`): pino redacts what those gave. */
const SERIALIZED = ['req', 'res', 'err'];

/**
 * pino's own redaction, for the serialized fields: REDACTED_PATHS with `*` spelled out for each of them.
 * pino runs a `*.name` path's redactor over every field of every line, strings and numbers and the message
 * included (about a tenth of a small request's CPU), so the other fields are redactFields' below.
 */
const PINO_REDACT_PATHS = [
  ...REDACTED_PATHS.filter((path) => !path.startsWith('*.')),
  ...SERIALIZED.flatMap((field) => ANY_FIELD.map((name) => `${field}.${name}`)),
];

/**
 * REDACTED_PATHS' `*.name` for the fields of a line that pino writes as they are: where a field's value is an
 * object with such a property of its own, the line gets a copy of it with that property censored, as pino's
 * redaction would write it (logging.module.spec.ts holds the two side by side). Other lines pass untouched.
 */
function redactFields(line: Record<string, unknown>): Record<string, unknown> {
  let redacted = line;
  for (const field of Object.keys(line)) {
    const value = line[field];
    // An array's named properties are not written, censored or not.
    if (value === null || typeof value !== 'object' || Array.isArray(value) || SERIALIZED.includes(field)) continue;
    const names = ANY_FIELD.filter((name) => Object.prototype.propertyIsEnumerable.call(value, name));
    if (names.length === 0) continue;
    const copy: Record<string, unknown> = { ...value };
    for (const name of names) copy[name] = CENSOR;
    if (redacted === line) redacted = { ...line };
    redacted[field] = copy;
  }
  return redacted;
}

/**
 * Where the log context's fields (reqId, orderNo, …) go in a line: first, before the line's own fields; on
 * the request line (the one with `req`), after `reqId` and `req`, where pino-http's child loggers put them.
 */
function mergeContext(line: { req?: unknown; reqId?: unknown }, context: { reqId?: unknown }): object {
  if (line.req === undefined) return Object.assign(context, line);
  return Object.assign({ reqId: line.reqId ?? context.reqId, req: line.req }, context, line);
}

/** Buffered log lines are written at least this often (and at 4 KB, and when the process exits). */
export const LOG_FLUSH_MS = 100;

/** After lines were dropped, how soon (and how often, while stdout is still not read) the count is logged. */
const DROP_REPORT_MS = 1000;

let stdout: ReturnType<typeof destination> | undefined;

/**
 * Counts the lines a full log buffer dropped, and writes one line with their number once a line fits again
 * (tried DROP_REPORT_MS after the first drop, and again as long as the report itself is dropped).
 */
class DropReport {
  private unreported = 0;
  private since = new Date();
  private timer: NodeJS.Timeout | undefined;
  private reporting = false;
  private reportDropped = false;

  constructor(private readonly write: (lines: number, since: Date) => void) {}

  /** A write the buffer refused: one line as pino writes them, or whatever `data` holds. */
  dropped(data: string): void {
    if (this.reporting) {
      this.reportDropped = true;
      return;
    }
    const lines = data.split('\n').length - 1 || 1;
    countDroppedLogLines(lines);
    if (this.unreported === 0) this.since = new Date();
    this.unreported += lines;
    this.schedule();
  }

  private schedule(): void {
    // Outside the log context of the request whose line was dropped: the report names no request.
    this.timer ??= outsideLogContext(() => setTimeout(() => this.report(), DROP_REPORT_MS).unref());
  }

  private report(): void {
    this.timer = undefined;
    this.reporting = true;
    this.reportDropped = false;
    try {
      this.write(this.unreported, this.since);
    } finally {
      this.reporting = false;
    }
    if (this.reportDropped) {
      this.schedule(); // still full: again later, counting what is dropped meanwhile
      return;
    }
    this.unreported = 0;
  }
}

/**
 * stdout, written in batches: a line is written when 4 KB are buffered, LOG_FLUSH_MS after it was logged at
 * the latest (sonic-boom's periodic flush), or when the process exits (pino flushes the destination on
 * `exit`; main.ts waits for `flushLogs` before it exits after a shutdown). A write per line costs a system
 * call per line on the request path, and a pipe read slowly (a container's log driver) would hold up the
 * event loop; instead lines wait in memory, `maxBytes` of them at most: past that a line is
 * dropped whole (sonic-boom's `maxLength`), counted (`payment_center_log_lines_dropped_total`), and once a
 * line fits again an error line says how many were dropped since when. A process killed outright (SIGKILL,
 * out of memory) loses at most its last LOG_FLUSH_MS of lines; what it did is in the database either way.
 * One destination per process (the first app's `maxBytes`): apps started side by side in one process
 * (tests) share it, so their lines never interleave inside a line.
 */
function logDestination(maxBytes: number): ReturnType<typeof destination> {
  if (stdout) return stdout;
  const stream = destination({
    dest: 1,
    minLength: 4096,
    sync: false,
    periodicFlush: LOG_FLUSH_MS,
    maxLength: maxBytes,
  });
  const drops = new DropReport((lines, since) =>
    PinoLogger.root.error(
      { context: 'Logging', droppedLines: lines, droppedSince: since.toISOString() },
      `${lines} log lines dropped: stdout was not read while ${maxBytes} bytes of lines waited (LOG_BUFFER_MAX_BYTES)`,
    ),
  );
  stream.on('drop', (data: string) => drops.dropped(data));
  stdout = stream;
  return stream;
}

/** Writes out the buffered log lines; resolves when they are written, or after `timeoutMs` whatever happens. */
export function flushLogs(timeoutMs = 1000): Promise<void> {
  const stream = stdout;
  if (!stream) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    stream.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** pino's options: level, fields, redaction, serializers. */
export function loggerOptions(config: AppConfig): Options {
  return {
    level: PINO_LEVELS[config.logLevel],
    messageKey: 'msg',
    base: { service: 'payment-center' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }), log: redactFields },
    // reqId / orderNo / paymentNo / refundNo / eventId of the work in hand, on every line (see log-context.ts).
    mixin: () => currentLogContext(),
    mixinMergeStrategy: mergeContext,
    redact: { paths: PINO_REDACT_PATHS, censor: CENSOR },
    // The logger is still made by pino-http's factory (nestjs-pino's): no wrapping of our serializers into
    // pino's standard ones, which copy the whole request (headers and all) only for three fields to be picked.
    wrapSerializers: false,
    serializers: {
      req: (req: { id: string; method: string; url: string; originalUrl?: string }) => ({
        id: req.id,
        method: req.method,
        url: req.originalUrl ?? req.url,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
}

export function loggerParams(config: AppConfig): Params<Request, Response> {
  return {
    // The request id, the request line and the per-request log context are requestLog's and
    // requestLogContext's (see request-log.middleware.ts); nestjs-pino's own request middleware (pino-http,
    // per-request child loggers in a second async context) is left out. nestjs-pino still makes the pino
    // logger and serves Nest's Logger.
    forRoutes: [],
    pinoHttp: [loggerOptions(config), logDestination(config.logBufferMaxBytes)],
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
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  /** Opens the request's log context after the body is parsed (see requestLogContext), on either platform. */
  configure(consumer: MiddlewareConsumer): void {
    const http = this.adapterHost.httpAdapter;
    if (http.getType() === 'fastify') {
      // Fastify runs middleware before it parses the body; its preHandler hooks run after, before the handler.
      http
        .getInstance<FastifyHooks>()
        .addHook('preHandler', (request, reply, done) => requestLogContext(request.raw, reply.raw, done));
      return;
    }
    // Express: Nest mounts the body parsers before the modules' middleware.
    consumer.apply(requestLogContext).forRoutes('*path');
  }
}

/** What LoggingModule needs of Fastify: a hook that runs after the body is parsed, before the route's handler. */
interface FastifyHooks {
  addHook(
    name: 'preHandler',
    hook: (request: { raw: IncomingMessage }, reply: { raw: ServerResponse }, done: () => void) => void,
  ): void;
}

/**
 * Mounts the request log (request id, the request line) in front of everything the app mounts, body parsing
 * included, so a request refused before routing (a body that is not JSON) still has its id and its line.
 * Call it before anything else is mounted.
 */
export function useRequestLog(app: INestApplication): void {
  app.use(requestLog(() => PinoLogger.root));
}
