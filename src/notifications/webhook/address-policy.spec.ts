import {
  type AddressPolicy,
  isLoopbackName,
  parseAllowedNetworks,
  whyAddressRefused,
  whyWebhookUrlRefused,
} from './address-policy';

const policy = (allowed = '', allowLoopback = false): AddressPolicy => ({
  allowed: parseAllowedNetworks(allowed),
  allowLoopback,
});

describe('whyAddressRefused', () => {
  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1', // just past 172.16.0.0/12
    '100.128.0.1', // just past carrier-grade NAT
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
  ])('lets %s (public) through', (address) => {
    expect(whyAddressRefused(address, policy())).toBeUndefined();
  });

  it.each([
    ['10.0.0.5'],
    ['172.16.3.4'],
    ['172.31.255.255'],
    ['192.168.1.1'],
    ['169.254.169.254'], // the cloud metadata service
    ['100.64.0.1'],
    ['0.0.0.0'],
    ['224.0.0.1'],
    ['255.255.255.255'],
    ['fd00::1'],
    ['fe80::1'],
    ['ff02::1'],
    ['::'],
    ['64:ff9b::a00:1'], // NAT64 of 10.0.0.1
    ['2002:a00:1::1'], // 6to4 of 10.0.0.1
  ])('refuses %s as not public', (address) => {
    expect(whyAddressRefused(address, policy())).toBe(
      `${address} is not a public address (private, link-local or reserved)`,
    );
  });

  it.each([
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['::FFFF:10.0.0.1', '10.0.0.1'],
    ['::ffff:a00:1', '10.0.0.1'], // the form the URL parser and inet_ntop give
    ['::ffff:a9fe:a9fe', '169.254.169.254'],
  ])('refuses the IPv4-mapped %s as the address it connects to (%s)', (address, inside) => {
    expect(whyAddressRefused(address, policy())).toBe(
      `${inside} is not a public address (private, link-local or reserved)`,
    );
  });

  it('refuses loopback unless the policy allows it', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1']) {
      expect(whyAddressRefused(address, policy())).toMatch(/is a loopback address$/);
      expect(whyAddressRefused(address, policy('', true))).toBeUndefined();
    }
  });

  it('allowing loopback allows nothing else', () => {
    expect(whyAddressRefused('10.0.0.1', policy('', true))).toMatch(/not a public address/);
    expect(whyAddressRefused('0.0.0.0', policy('', true))).toMatch(/not a public address/);
  });

  it('lets through exactly the networks WEBHOOK_ALLOWED_NETWORKS lists', () => {
    const allowing = policy('10.20.0.0/16, fd00:1::/64');
    expect(whyAddressRefused('10.20.3.4', allowing)).toBeUndefined();
    expect(whyAddressRefused('::ffff:10.20.3.4', allowing)).toBeUndefined();
    expect(whyAddressRefused('fd00:1::7', allowing)).toBeUndefined();
    expect(whyAddressRefused('10.21.0.1', allowing)).toMatch(/not a public address/);
    expect(whyAddressRefused('fd00:2::7', allowing)).toMatch(/not a public address/);
    // Loopback listed: production's only way to reach it.
    expect(whyAddressRefused('127.0.0.1', policy('127.0.0.0/8'))).toBeUndefined();
  });

  it('refuses what is not an IP address', () => {
    expect(whyAddressRefused('example.com', policy())).toBe('example.com is not an IP address');
    expect(whyAddressRefused('', policy())).toBe(' is not an IP address');
  });
});

describe('parseAllowedNetworks', () => {
  it('reads an empty list as no network', () => {
    const allowed = parseAllowedNetworks('');
    expect(allowed.check('10.0.0.1', 'ipv4')).toBe(false);
    expect(parseAllowedNetworks(' , ').rules).toEqual([]);
  });

  it('reads IPv4 and IPv6 CIDRs, spaces around commas ignored', () => {
    const allowed = parseAllowedNetworks(' 10.20.0.0/16 ,fd00:1::/64,192.168.7.0/24');
    expect(allowed.check('10.20.255.1', 'ipv4')).toBe(true);
    expect(allowed.check('10.21.0.1', 'ipv4')).toBe(false);
    expect(allowed.check('fd00:1::ff', 'ipv6')).toBe(true);
    expect(allowed.check('192.168.7.9', 'ipv4')).toBe(true);
    expect(allowed.check('192.168.8.9', 'ipv4')).toBe(false);
  });

  it.each([
    ['10.0.0.0', '"10.0.0.0"'],
    ['10.0.0.0/33', '"10.0.0.0/33"'],
    ['fd00::/129', '"fd00::/129"'],
    ['10.0.0/8', '"10.0.0/8"'],
    ['intranet/8', '"intranet/8"'],
    ['10.0.0.0/8,10.1.0.0/-1', '"10.1.0.0/-1"'],
    ['10.0.0.0/8;10.1.0.0/16', '"10.0.0.0/8;10.1.0.0/16"'],
  ])('refuses %s, naming the entry', (list, named) => {
    expect(() => parseAllowedNetworks(list)).toThrow(`${named} is not a network in CIDR form such as 10.20.0.0/16`);
  });
});

describe('isLoopbackName', () => {
  it.each(['localhost', 'LOCALHOST', 'localhost.', 'api.localhost', 'a.b.localhost.'])('%s is loopback', (name) => {
    expect(isLoopbackName(name)).toBe(true);
  });

  it.each(['localhost.example.com', 'notlocalhost', 'mylocalhost', '127.0.0.1', 'example.com'])(
    '%s is not a loopback name',
    (name) => {
      expect(isLoopbackName(name)).toBe(false);
    },
  );
});

describe('whyWebhookUrlRefused', () => {
  const local = policy('', true);

  it('accepts https to a name or a public address, and http to loopback outside production', () => {
    expect(whyWebhookUrlRefused('https://erp.example.com/hooks/pc', local, false)).toBeUndefined();
    expect(whyWebhookUrlRefused('https://8.8.8.8:8443/hook', local, false)).toBeUndefined();
    expect(whyWebhookUrlRefused('http://127.0.0.1:4000/hook', local, false)).toBeUndefined();
    expect(whyWebhookUrlRefused('http://[::1]:4000/hook', local, false)).toBeUndefined();
    expect(whyWebhookUrlRefused('http://localhost:4000/hook', local, false)).toBeUndefined();
    expect(whyWebhookUrlRefused('http://0x7f.1/hook', local, false)).toBeUndefined(); // 127.0.0.1
  });

  it('refuses http to anything but loopback, and any http in production', () => {
    const httpsOnly = /^must be https:\/\/ \(http:\/\/ only to a loopback host/;
    expect(whyWebhookUrlRefused('http://erp.example.com/hook', local, false)).toMatch(httpsOnly);
    expect(whyWebhookUrlRefused('http://8.8.8.8/hook', local, false)).toMatch(httpsOnly);
    expect(whyWebhookUrlRefused('http://0.0.0.0/hook', local, false)).toMatch(httpsOnly);
    expect(whyWebhookUrlRefused('http://127.0.0.1/hook', policy('127.0.0.0/8'), true)).toMatch(httpsOnly);
    expect(whyWebhookUrlRefused('http://localhost/hook', policy(), true)).toMatch(httpsOnly);
    expect(whyWebhookUrlRefused('http://0x7f.1/hook', policy(), true)).toMatch(httpsOnly);
  });

  it('refuses other schemes, credentials, fragments, and what is no URL', () => {
    expect(whyWebhookUrlRefused('ftp://erp.example.com/hook', local, false)).toBe('must be https://');
    expect(whyWebhookUrlRefused('file:///etc/passwd', local, false)).toBe('must be https://');
    expect(whyWebhookUrlRefused('https://u:p@erp.example.com/hook', local, false)).toBe(
      'may not carry a user name or password',
    );
    expect(whyWebhookUrlRefused('https://u@erp.example.com/hook', local, false)).toBe(
      'may not carry a user name or password',
    );
    expect(whyWebhookUrlRefused('https://erp.example.com/hook#x', local, false)).toBe('may not have a fragment (#…)');
    expect(whyWebhookUrlRefused('erp.example.com/hook', local, false)).toBe('is not a URL');
    expect(whyWebhookUrlRefused(`https://erp.example.com/${'a'.repeat(2048)}`, local, false)).toBe(
      'is longer than 2048 characters',
    );
  });

  it.each([
    ['https://10.0.0.5/hook', '10.0.0.5', '10.0.0.0/24'],
    ['https://169.254.169.254/latest/meta-data', '169.254.169.254', '169.254.169.254/32'],
    ['https://[fd00::1]/hook', 'fd00::1', 'fd00::/8'],
    ['https://[::ffff:10.0.0.1]/hook', '10.0.0.1', '10.0.0.0/8'],
    ['https://0.0.0.0/hook', '0.0.0.0', '0.0.0.0/32'],
    ['https://0xa000005/hook', '10.0.0.5', '10.0.0.5/32'],
  ])('refuses %s, a literal the policy refuses, unless %s is in an allowed network', (url, address, network) => {
    expect(whyWebhookUrlRefused(url, local, false)).toBe(
      `names a refused address: ${address} is not a public address (private, link-local or reserved) ` +
        '(allow its network with WEBHOOK_ALLOWED_NETWORKS)',
    );
    expect(whyWebhookUrlRefused(url, policy(network), true)).toBeUndefined();
  });

  it('refuses loopback over https where the policy does (production), unless its network is listed', () => {
    expect(whyWebhookUrlRefused('https://127.0.0.1/hook', policy(), true)).toMatch(
      /^names a refused address: 127\.0\.0\.1 is a loopback address/,
    );
    expect(whyWebhookUrlRefused('https://[::1]/hook', policy(), true)).toMatch(/^names a refused address: ::1 is a/);
    expect(whyWebhookUrlRefused('https://127.0.0.1/hook', policy('127.0.0.0/8'), true)).toBeUndefined();
    // A name that is loopback wherever it is resolved is refused like its address; other names are checked on
    // every send, against what they resolve to then.
    expect(whyWebhookUrlRefused('https://localhost/hook', policy(), true)).toMatch(
      /^names a loopback host \(localhost\)/,
    );
    expect(whyWebhookUrlRefused('https://api.localhost/hook', policy('127.0.0.0/8'), true)).toBeUndefined();
    expect(whyWebhookUrlRefused('https://partner.example.com/hook', policy(), true)).toBeUndefined();
  });
});
