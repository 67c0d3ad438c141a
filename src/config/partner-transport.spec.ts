import { InvalidEnvironment, parsePartners, validateEnvironment } from './environment';

const SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const entry = (name: string, more: object = {}) => ({
  name,
  bindings: ['payment.#'],
  keyId: `${name}-1`,
  secret: SECRET,
  ...more,
});
const parse = (...entries: object[]) => parsePartners(JSON.stringify(entries), 'orders');

describe('PARTNERS transport', () => {
  it('is amqp when absent or said, with no url', () => {
    const [absent, said] = parse(entry('erp'), entry('crm', { transport: 'amqp' }));
    expect(absent.transport).toBe('amqp');
    expect(absent).not.toHaveProperty('url');
    expect(said.transport).toBe('amqp');
    expect(said).not.toHaveProperty('url');
  });

  it('reads a webhook partner with its url', () => {
    const [sut] = parse(entry('shop', { transport: 'webhook', url: 'https://shop.example.com/hooks/pc' }));
    expect(sut).toEqual({
      name: 'shop',
      bindings: ['payment.#'],
      keyId: 'shop-1',
      secret: SECRET,
      transport: 'webhook',
      url: 'https://shop.example.com/hooks/pc',
    });
  });

  it.each([
    ['no url', {}],
    ['an empty url', { url: '' }],
    ['a url that is no string', { url: { href: 'https://shop.example.com' } }],
    ['a url over 2048 characters', { url: `https://shop.example.com/${'a'.repeat(2048)}` }],
  ])('refuses a webhook partner with %s', (_, more) => {
    expect(() => parse(entry('shop', { transport: 'webhook', ...more }))).toThrow(
      '[0].url (partner shop) is required for transport webhook: its https:// endpoint',
    );
  });

  it('refuses a url on an amqp partner (it would be ignored)', () => {
    expect(() => parse(entry('erp'), entry('crm', { url: 'https://crm.example.com/hook' }))).toThrow(
      '[1].url (partner crm) is only for transport webhook',
    );
    expect(() => parse(entry('crm', { transport: 'amqp', url: 'https://crm.example.com/hook' }))).toThrow(
      '[0].url (partner crm) is only for transport webhook',
    );
  });

  it.each([['http'], ['WEBHOOK'], ['kafka'], [''], [1], [true]])('refuses transport %j', (transport) => {
    expect(() => parse(entry('shop', { transport, url: 'https://shop.example.com/hook' }))).toThrow(
      '[0].transport (partner shop) must be amqp or webhook',
    );
  });

  it('keeps the Orders partner on its queue: it may not be a webhook', () => {
    expect(() => parse(entry('orders', { transport: 'webhook', url: 'https://orders.example.com/hook' }))).toThrow(
      '[0].transport (partner orders): the Orders module (ORDERS_PARTNER) consumes its queue (amqp)',
    );
    expect(parse(entry('orders', { transport: 'amqp' }))[0].transport).toBe('amqp');
    // The same entry under another name, or with no Orders partner named, may be a webhook.
    const webhook = entry('orders', { transport: 'webhook', url: 'https://orders.example.com/hook' });
    expect(parsePartners(JSON.stringify([webhook]))[0].transport).toBe('webhook');
  });

  it('is refused at start naming PARTNERS, with ORDERS_PARTNER from the settings', () => {
    const refused = (partners: object[], env: Record<string, string> = {}) => {
      try {
        validateEnvironment({ PARTNERS: JSON.stringify(partners), ...env });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidEnvironment);
        return (error as InvalidEnvironment).problems.join('\n');
      }
      return '';
    };
    const orders = entry('orders', { transport: 'webhook', url: 'https://orders.example.com/hook' });
    expect(refused([orders])).toMatch(/^PARTNERS.*\[0\]\.transport \(partner orders\): the Orders module/);
    expect(refused([orders], { ORDERS_PARTNER: 'billing' })).toBe('');
    expect(refused([entry('shop', { transport: 'webhook' })])).toMatch(/^PARTNERS.*\[0\]\.url \(partner shop\) is req/);
  });
});
