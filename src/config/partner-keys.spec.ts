import { InvalidEnvironment, parsePartners, validateEnvironment } from './environment';

const OLD = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const NEW = '0f9e8d7c6b5a49382716a5b4c3d2e1f0';
const entry = (keys: object) => ({ name: 'erp', bindings: ['payment.#'], ...keys });

/** What the start refuses, as it says it. */
function refusals(partners: object[]): readonly string[] {
  try {
    validateEnvironment({ PARTNERS: JSON.stringify(partners) });
    return [];
  } catch (error) {
    if (error instanceof InvalidEnvironment) return error.problems;
    throw error;
  }
}

describe('PARTNERS keys: one key, or two while a key is rotated', () => {
  it('reads the one-key form as before: that key signs, there is no second', () => {
    const [sut] = parsePartners(JSON.stringify([entry({ keyId: 'erp-1', secret: OLD })]));
    expect(sut).toEqual({ name: 'erp', bindings: ['payment.#'], keyId: 'erp-1', secret: OLD, transport: 'amqp' });
  });

  it('reads keys: the first is the current key (it signs), the second is kept beside it', () => {
    const keys = [
      { keyId: 'erp-2', secret: NEW },
      { keyId: 'erp-1', secret: OLD },
    ];
    const [sut] = parsePartners(JSON.stringify([entry({ keys })]));
    expect(sut).toEqual({
      name: 'erp',
      bindings: ['payment.#'],
      keyId: 'erp-2',
      secret: NEW,
      secondKey: { keyId: 'erp-1', secret: OLD },
      transport: 'amqp',
    });
    expect(parsePartners(JSON.stringify([entry({ keys: [keys[0]] })]))[0]).not.toHaveProperty('secondKey');
  });

  it.each([
    ['both forms at once', { keyId: 'erp-1', secret: OLD, keys: [{ keyId: 'erp-2', secret: NEW }] }, /not both/],
    ['no key', { keys: [] }, /one or two/],
    [
      'three keys',
      {
        keys: [
          { keyId: 'a', secret: OLD },
          { keyId: 'b', secret: NEW },
          { keyId: 'c', secret: NEW },
        ],
      },
      /one or two/,
    ],
    [
      'a bad key id',
      {
        keys: [
          { keyId: 'erp-1', secret: OLD },
          { keyId: 'erp 2', secret: NEW },
        ],
      },
      /keys\[1\]\.keyId/,
    ],
    ['a secret that is not a string', { keys: [{ keyId: 'erp-1', secret: 7 }] }, /keys\[0\]\.secret/],
  ])('refuses %s', (_, keys, problem) => {
    expect(() => parsePartners(JSON.stringify([entry(keys)]))).toThrow(problem);
  });

  it("refuses a second key id used twice, within an entry or by another partner's key", () => {
    const twice = [
      entry({
        keys: [
          { keyId: 'erp-1', secret: OLD },
          { keyId: 'erp-1', secret: NEW },
        ],
      }),
    ];
    expect(() => parsePartners(JSON.stringify(twice))).toThrow('partner names and key ids must be unique');
    const taken = [
      entry({
        keys: [
          { keyId: 'erp-1', secret: OLD },
          { keyId: 'shop-1', secret: NEW },
        ],
      }),
      { name: 'shop', bindings: ['payment.#'], keyId: 'shop-1', secret: NEW },
    ];
    expect(() => parsePartners(JSON.stringify(taken))).toThrow('partner names and key ids must be unique');
  });

  it('refuses a weak second secret at the start, naming it', () => {
    const keys = [
      { keyId: 'erp-1', secret: OLD },
      { keyId: 'erp-2', secret: 'short' },
    ];
    expect(refusals([entry({ keys })])).toEqual([
      expect.stringMatching(/^PARTNERS\[0\]\.keys\[1\]\.secret \(partner erp\)/),
    ]);
  });
});
