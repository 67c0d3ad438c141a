import { InvalidEnvironment, parseRabbitmqUrls, parseRedisSentinels, validateEnvironment } from './environment';
import { SANDBOX_IN_PRODUCTION_OPT_IN } from './fail-closed';

/** A production demo on the sandbox: the fewest settings production accepts, so a test changes only the broker. */
const production = (rabbitmqUrl: string) => ({
  NODE_ENV: 'production',
  ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION: SANDBOX_IN_PRODUCTION_OPT_IN,
  PARTNERS: '[]',
  METRICS_TOKEN: 'metrics-f3b0c1d2e3a4958677889900aabbccdd',
  RABBITMQ_URL: rabbitmqUrl,
});

function refusals(raw: Record<string, string>): string[] {
  try {
    validateEnvironment(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEnvironment);
    return [...(error as InvalidEnvironment).problems];
  }
  throw new Error('expected the environment to be refused');
}

describe('RABBITMQ_URL: one node or the nodes of a cluster', () => {
  it('reads one URL, or a comma-separated list in its order', () => {
    expect(parseRabbitmqUrls('amqp://guest:guest@127.0.0.1:5672')).toEqual(['amqp://guest:guest@127.0.0.1:5672']);
    expect(
      parseRabbitmqUrls('amqps://pc:pw@mq-1:5671/pc , amqps://pc:pw@mq-2:5671/pc,amqp://pc:pw@[fd00::3]/pc'),
    ).toEqual(['amqps://pc:pw@mq-1:5671/pc', 'amqps://pc:pw@mq-2:5671/pc', 'amqp://pc:pw@[fd00::3]/pc']);
  });

  it('never splits a password that holds a comma (legal in user info)', () => {
    expect(parseRabbitmqUrls('amqp://pc:a,b@mq-1,amqp://pc:a,b@mq-2')).toEqual([
      'amqp://pc:a,b@mq-1',
      'amqp://pc:a,b@mq-2',
    ]);
  });

  it.each([
    ['amqp://mq-1,mq-2', /the URL has no valid host \(in a list, every URL starts with amqp:\/\/ or amqps:\/\/\)/],
    ['amqp://mq-1,', /must not end with a comma/],
    ['amqp://mq-1,amqp://', /URL 2 of 2 (is not a URL|has no valid host)/],
    ['amqp://mq-1:99999', /the URL is not a URL/],
  ])('refuses %s, naming the URL by its place', (value, message) => {
    expect(() => parseRabbitmqUrls(value)).toThrow(message);
    const problems = refusals({ RABBITMQ_URL: value });
    expect(problems).toEqual([expect.stringMatching(/^RABBITMQ_URL=/)]);
  });

  it("masks every URL's password when it refuses the list, also a password with a comma", () => {
    const problems = refusals({ RABBITMQ_URL: 'amqp://pc:hunter2@mq-1,amqp://pc:hun,ter3@mq-2,' });
    expect(problems).toEqual(['RABBITMQ_URL="amqp://pc:***@mq-1,amqp://pc:***@mq-2,": must not end with a comma']);
  });

  it('accepts a list in production when every URL logs in as a user of our own', () => {
    const env = validateEnvironment(production('amqps://pc:pw-1@mq-1:5671,amqps://pc:pw-1@mq-2:5671'));
    expect(env.RABBITMQ_URL).toBe('amqps://pc:pw-1@mq-1:5671,amqps://pc:pw-1@mq-2:5671');
  });

  it.each([
    ['guest', 'amqps://pc:pw@mq-1,amqps://guest:hunter2@mq-2', 'URL 2 of 2', '"guest"'],
    ['no user', 'amqps://mq-1,amqps://pc:pw@mq-2', 'URL 1 of 2', '(none, so "guest")'],
  ])('refuses a list in production when one URL logs in as guest (%s), naming it', (_, value, which, user) => {
    const problems = refusals(production(value));
    expect(problems).toHaveLength(1);
    expect(problems[0].startsWith(`RABBITMQ_URL (${which}): the user is ${user}, RabbitMQ's default`)).toBe(true);
    expect(problems[0]).not.toContain('hunter2');
  });
});

describe('REDIS_SENTINELS and REDIS_SENTINEL_NAME', () => {
  it('is off by default, with the master name most sentinels are set up with', () => {
    expect(validateEnvironment({})).toMatchObject({ REDIS_SENTINELS: '', REDIS_SENTINEL_NAME: 'mymaster' });
    expect(parseRedisSentinels('')).toEqual([]);
  });

  it('reads host:port entries, IPv6 in brackets', () => {
    expect(parseRedisSentinels('sentinel-1:26379, 10.0.0.6:26380,[fd00::5]:26379')).toEqual([
      { host: 'sentinel-1', port: 26379 },
      { host: '10.0.0.6', port: 26380 },
      { host: 'fd00::5', port: 26379 },
    ]);
  });

  it.each(['sentinel-1', 'sentinel-1:0', 'sentinel-1:65536', 'sentinel-1:26379,', 'redis://sentinel-1:26379'])(
    'refuses REDIS_SENTINELS=%s, naming the key',
    (value) => {
      expect(refusals({ REDIS_SENTINELS: value })).toEqual([
        expect.stringMatching(/^REDIS_SENTINELS=.*is not host:port/),
      ]);
    },
  );

  it('refuses a master name sentinel would not know', () => {
    expect(refusals({ REDIS_SENTINEL_NAME: 'my master' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_NAME="my master": REDIS_SENTINEL_NAME must be 1-64 letters/),
    ]);
  });
});
