import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type { Request, Response } from 'express';
import { pino, type LoggerOptions } from 'pino';
import type { AppConfig } from '../../config/app-config';
import { addLogContext } from './log-context';
import { loggerOptions } from './logging.module';
import { requestLog, requestLogContext } from './request-log.middleware';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const options = loggerOptions({ logLevel: 'log' } as AppConfig) as LoggerOptions;
  return { lines, logger: pino(options, stream) };
}

function exchange(url: string, headers: Record<string, string> = {}) {
  const request = { method: 'POST', url, originalUrl: url, headers } as unknown as Request;
  const sent: Record<string, string> = {};
  const response = Object.assign(new EventEmitter(), {
    statusCode: 200,
    setHeader: (name: string, value: string) => (sent[name] = value),
  }) as unknown as Response & EventEmitter;
  return { request, response, sent };
}

describe('requestLog', () => {
  it('sends the request id back and writes the request line as pino-http did, with the context numbers', () => {
    const { lines, logger } = capture();
    const sut = requestLog(() => logger);
    const { request, response, sent } = exchange('/api/orders/ord_1/pay', { 'x-request-id': 'checkout-42' });
    // As mounted: requestLog first, the body parsers, then requestLogContext (LoggingModule's middleware).
    sut(request, response, () =>
      requestLogContext(request, response, () => {
        logger.info({ context: 'StartPaymentUseCase' }, 'inside');
        addLogContext({ orderNo: 'ord_1', paymentNo: 'P1' });
        response.emit('finish');
        response.emit('close');
      }),
    );
    expect(sent).toEqual({ 'X-Request-Id': 'checkout-42' });
    const [inside, line, ...more] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(more).toEqual([]);
    expect(Object.keys(inside)).toEqual(['level', 'time', 'service', 'reqId', 'context', 'msg']);
    expect(Object.keys(line)).toEqual([
      'level',
      'time',
      'service',
      'reqId',
      'req',
      'orderNo',
      'paymentNo',
      'res',
      'responseTime',
      'msg',
    ]);
    expect(line).toMatchObject({
      level: 'info',
      reqId: 'checkout-42',
      req: { id: 'checkout-42', method: 'POST', url: '/api/orders/ord_1/pay' },
      res: { statusCode: 200 },
      msg: 'request completed',
    });
  });

  it('makes an id for a caller whose X-Request-Id is not a plain token; 4xx is a warning, 5xx an error', () => {
    const { lines, logger } = capture();
    const sut = requestLog(() => logger);
    for (const status of [404, 503]) {
      const { request, response, sent } = exchange('/x', { 'x-request-id': 'has spaces' });
      sut(request, response, () => undefined);
      response.statusCode = status;
      response.emit('finish');
      expect(sent['X-Request-Id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    const [notFound, failed] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(notFound).toMatchObject({ level: 'warn', res: { statusCode: 404 }, msg: 'request completed' });
    expect(Object.keys(failed)).toEqual([
      'level',
      'time',
      'service',
      'reqId',
      'req',
      'res',
      'err',
      'responseTime',
      'msg',
    ]);
    expect(failed).toMatchObject({
      level: 'error',
      err: { message: 'failed with status code 503' },
      msg: 'request errored',
    });
  });

  it('writes no line for scrapes and health checks', () => {
    const { lines, logger } = capture();
    const sut = requestLog(() => logger);
    for (const url of ['/metrics', '/health', '/health/ready']) {
      const { request, response } = exchange(url);
      sut(request, response, () => undefined);
      response.emit('finish');
    }
    expect(lines).toEqual([]);
  });
});
