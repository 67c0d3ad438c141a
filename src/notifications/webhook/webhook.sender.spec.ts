import type { lookup as dnsLookup, LookupAddress, LookupOptions } from 'node:dns';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAllowedNetworks } from './address-policy';
import { guardedLookup } from './webhook.sender';

/** A DNS that answers every name with `answer` (or fails with `error`), and remembers what it was asked. */
function fakeDns(answer: LookupAddress[], error?: NodeJS.ErrnoException) {
  const asked: { hostname: string; options: LookupOptions }[] = [];
  const resolve = ((hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void) => {
    asked.push({ hostname, options });
    if (error) callback(error, undefined);
    else callback(null, answer);
  }) as unknown as typeof dnsLookup;
  return { resolve, asked };
}

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

/** What the guarded lookup hands the socket for `hostname`. */
function lookUp(
  answer: LookupAddress[],
  options: LookupOptions,
  allowed = '',
  allowLoopback = false,
): Promise<{ error: NodeJS.ErrnoException | null; result: unknown[] }> {
  const dns = fakeDns(answer);
  const lookup = guardedLookup({ allowed: parseAllowedNetworks(allowed), allowLoopback }, dns.resolve);
  return new Promise((done) => {
    type Callback = (error: NodeJS.ErrnoException | null, ...result: unknown[]) => void;
    (lookup as unknown as (h: string, o: LookupOptions, cb: Callback) => void)(
      'partner.example',
      options,
      (error: NodeJS.ErrnoException | null, ...result: unknown[]) => done({ error, result }),
    );
  });
}

describe('guardedLookup', () => {
  it('asks the resolver for every address of the name, whatever the caller asked', async () => {
    const dns = fakeDns([v4('8.8.8.8')]);
    const lookup = guardedLookup({ allowed: parseAllowedNetworks(''), allowLoopback: false }, dns.resolve);
    await new Promise<void>((done) => {
      (lookup as unknown as (h: string, o: LookupOptions, cb: () => void) => void)(
        'partner.example',
        { family: 4, all: false },
        done,
      );
    });
    expect(dns.asked).toEqual([{ hostname: 'partner.example', options: { family: 4, all: true } }]);
  });

  it('hands a public answer on: one address, or all of them when asked for all', async () => {
    expect(await lookUp([v4('8.8.8.8')], {})).toEqual({ error: null, result: ['8.8.8.8', 4] });
    expect(await lookUp([v6('2606:4700::1111')], { all: false })).toEqual({
      error: null,
      result: ['2606:4700::1111', 6],
    });
    expect(await lookUp([v4('8.8.8.8'), v6('2606:4700::1111')], { all: true })).toEqual({
      error: null,
      result: [[v4('8.8.8.8'), v6('2606:4700::1111')]],
    });
  });

  it('drops the refused addresses of a mixed answer: only the public ones are connected to', async () => {
    const mixed = [v4('10.0.0.1'), v4('8.8.8.8'), v6('fd00::1'), v4('169.254.169.254'), v6('2606:4700::1111')];
    expect(await lookUp(mixed, {})).toEqual({ error: null, result: ['8.8.8.8', 4] });
    expect(await lookUp(mixed, { all: true })).toEqual({
      error: null,
      result: [[v4('8.8.8.8'), v6('2606:4700::1111')]],
    });
  });

  it.each([
    [[v4('10.0.0.1')], '10.0.0.1: 10.0.0.1 is not a public address'],
    [[v4('169.254.169.254'), v6('fd00::1')], '169.254.169.254: 169.254.169.254 is not a public address'],
    [[v6('::ffff:10.0.0.1')], '::ffff:10.0.0.1: 10.0.0.1 is not a public address'],
    [[v4('127.0.0.1')], '127.0.0.1: 127.0.0.1 is a loopback address'],
  ])('fails a name that resolves only to refused addresses (%j), naming the address', async (answer, named) => {
    for (const all of [false, true]) {
      const { error, result } = await lookUp(answer, { all });
      expect(error).toBeInstanceOf(Error);
      expect(error?.message).toContain(`refused: partner.example resolves to ${named}`);
      expect(error?.code).toBe('EADDRREFUSED');
      expect(result).toEqual(['', 0]);
    }
  });

  it('fails an empty answer', async () => {
    const { error } = await lookUp([], {});
    expect(error?.message).toBe('refused: partner.example resolves to no address');
  });

  it('connects to loopback or a private network only where the policy allows it', async () => {
    expect(await lookUp([v4('127.0.0.1')], {}, '', true)).toEqual({ error: null, result: ['127.0.0.1', 4] });
    expect(await lookUp([v4('10.20.3.4')], {}, '10.20.0.0/16')).toEqual({ error: null, result: ['10.20.3.4', 4] });
    expect(await lookUp([v6('::ffff:10.20.3.4')], { all: true }, '10.20.0.0/16')).toEqual({
      error: null,
      result: [[v6('::ffff:10.20.3.4')]],
    });
  });

  it("passes the resolver's own failure on", async () => {
    const failure = Object.assign(new Error('getaddrinfo ENOTFOUND partner.example'), { code: 'ENOTFOUND' });
    const dns = fakeDns([], failure);
    const lookup = guardedLookup({ allowed: parseAllowedNetworks(''), allowLoopback: false }, dns.resolve);
    const error = await new Promise((done) => {
      (lookup as unknown as (h: string, o: LookupOptions, cb: (e: unknown) => void) => void)(
        'partner.example',
        {},
        done,
      );
    });
    expect(error).toBe(failure);
  });
});

describe('guardedLookup under a real request (a local listener)', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((_, res) => res.end('ok'));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  /** GET http://localhost:<port>/ through the guarded lookup: what came back, or the error. */
  const get = (allowLoopback: boolean) =>
    new Promise<string>((done) => {
      const req = request(`http://localhost:${port}/`, {
        agent: false,
        lookup: guardedLookup({ allowed: parseAllowedNetworks(''), allowLoopback }),
      });
      req.on('response', (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => done(`answered ${text}`));
      });
      req.on('error', (error: NodeJS.ErrnoException) => done(`${error.code}: ${error.message}`));
      req.end();
    });

  it('connects when the policy allows the address the name resolves to', async () => {
    expect(await get(true)).toBe('answered ok');
  });

  it('never connects when it does not', async () => {
    expect(await get(false)).toMatch(/^EADDRREFUSED: refused: localhost resolves to (127\.0\.0\.1|::1): .* loopback/);
  });
});
