import { Writable } from 'node:stream';
import { pino, type LoggerOptions } from 'pino';
import type { AppConfig } from '../../config/app-config';
import { loggerOptions, REDACTED_PATHS } from './logging.module';

function logger(options: LoggerOptions) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString().replace(/"time":"[^"]+"/, '"time":"T"'));
      done();
    },
  });
  return { lines, log: pino({ ...options, timestamp: () => ',"time":"T"' }, stream) };
}

const withToken = Object.assign(new Error('boom'), { token: 't-1', code: 'E1' });
const LINES: [Record<string, unknown>, string][] = [
  [{ user: { password: 'p-1', name: 'ann' } }, 'a password'],
  [{ config: { apiV3Key: 'k-1', privateKey: 'pk-1', nested: { token: 'deeper, not redacted' } } }, 'keys'],
  [{ token: 'top-level, not redacted' }, 'top level'],
  [{ headers: { authorization: 'Bearer x', cookie: 'only req.headers.cookie is' } }, 'headers'],
  [{ err: withToken }, 'error with a token'],
  [{ error: Object.assign(new Error('boom 2'), { secret: 's-1' }) }, 'another field'],
  [{ req: { id: '1', method: 'GET', url: '/x', headers: { authorization: 'a', cookie: 'c' } } }, 'req'],
  [{ res: { statusCode: 200, headers: { 'set-cookie': 'sc' } } }, 'res'],
  [{ list: [{ password: 'in an array, not redacted' }] }, 'array'],
  [{ inherited: Object.create({ key: 'from the prototype' }) as object }, 'inherited'],
  [{ hidden: Object.defineProperty({ shown: 1 }, 'secret', { value: 'not enumerable', enumerable: false }) }, 'hidden'],
  [{ nothing: null, n: 5, yes: true, gone: undefined, s: 'he said "hi"\n\t→' }, 'plain values "quoted"\n'],
  [{ context: 'OrdersService', orderNo: 'ord_1' }, 'order created: 2500 fen'],
];

describe('log redaction', () => {
  it('writes every line as pino redacting REDACTED_PATHS itself would', () => {
    const options = loggerOptions({ logLevel: 'log' } as AppConfig) as LoggerOptions;
    const reference = logger({
      ...options,
      formatters: { level: options.formatters!.level },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    });
    const sut = logger(options);
    for (const [fields, message] of LINES) {
      reference.log.info(fields, message);
      sut.log.info(fields, message);
    }
    expect(sut.lines).toEqual(reference.lines);
    expect(sut.lines.join('')).not.toMatch(/p-1|k-1|pk-1|t-1|s-1|Bearer|"a"|sc|from the prototype/);
    expect(withToken.token).toBe('t-1'); // the logged object itself is left as it was
  });
});
