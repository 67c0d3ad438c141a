import { BlockList, isIP } from 'node:net';

/**
 * Which addresses a webhook may reach (the SSRF guard). A partner's URL is a request we make from inside the
 * deployment, so an address that is not on the public internet (loopback, the private ranges, link-local with
 * the cloud metadata service at 169.254.169.254, carrier-grade NAT, unspecified, multicast, reserved,
 * IPv4-mapped or 6to4/NAT64 wrappers of those) is refused unless an operator allows its network
 * (WEBHOOK_ALLOWED_NETWORKS). Loopback is allowed outside production so a developer's receiver on their own
 * machine works; production allows it only when listed.
 *
 * The rule is applied twice: when PARTNERS is read (a URL naming a refused address literally never boots) and
 * on every connection, to the address the name resolved to, by the lookup the request connects with (so a name
 * that resolves elsewhere later, DNS rebinding, is caught on the address actually used).
 */
export interface AddressPolicy {
  /** CIDR networks an operator allows although they are not public (WEBHOOK_ALLOWED_NETWORKS). */
  allowed: BlockList;
  /** Loopback is reachable (a local run). */
  allowLoopback: boolean;
}

const LOOPBACK: readonly [string, number, 'ipv4' | 'ipv6'][] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
];

/** Not reachable on the public internet (IANA special-purpose registries), loopback aside. */
const NOT_PUBLIC: readonly [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.0.2.0', 24, 'ipv4'],
  ['192.88.99.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['64:ff9b:1::', 48, 'ipv6'],
  ['100::', 64, 'ipv6'],
  ['2001::', 23, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'],
  ['2002::', 16, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

const loopback = blockList(LOOPBACK);
const notPublic = blockList(NOT_PUBLIC);

function blockList(ranges: readonly [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

/**
 * WEBHOOK_ALLOWED_NETWORKS: comma-separated CIDRs (`10.20.0.0/16,fd00:1::/64`), or empty. Throws naming the
 * entry that is not one.
 */
export function parseAllowedNetworks(list: string): BlockList {
  const allowed = new BlockList();
  for (const raw of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(raw);
    const family = match ? isIP(match[1]) : 0;
    const prefix = match ? Number(match[2]) : -1;
    if (!match || family === 0 || prefix > (family === 4 ? 32 : 128)) {
      throw new Error(`${JSON.stringify(raw.slice(0, 60))} is not a network in CIDR form such as 10.20.0.0/16`);
    }
    allowed.addSubnet(match[1], prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return allowed;
}

/** Why a webhook may not connect to `address` (an IP literal); undefined when it may. */
export function whyAddressRefused(address: string, policy: AddressPolicy): string | undefined {
  const family = isIP(address);
  if (family === 0) return `${address} is not an IP address`;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const mapped = type === 'ipv6' ? ipv4Mapped(address) : undefined;
  if (mapped) return whyAddressRefused(mapped, policy);
  if (policy.allowed.check(address, type)) return undefined;
  if (loopback.check(address, type)) {
    return policy.allowLoopback ? undefined : `${address} is a loopback address`;
  }
  if (notPublic.check(address, type)) return `${address} is not a public address (private, link-local or reserved)`;
  return undefined;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`), which connects to it. */
function ipv4Mapped(address: string): string | undefined {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (match) return match[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const [a, b] = [parseInt(hex[1], 16), parseInt(hex[2], 16)];
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
}

function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  const mapped = family === 6 ? ipv4Mapped(address) : undefined;
  if (mapped) return isLoopbackAddress(mapped);
  return family !== 0 && loopback.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Host names that are loopback wherever they are resolved (RFC 6761). */
export function isLoopbackName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * Why PARTNERS may not name `url` as a partner's webhook; undefined when it may. HTTPS, or HTTP to a loopback
 * host outside production; no user name or password in it (they would be sent to whoever the host is and
 * logged with the URL); no fragment; a literal address must pass the policy. A name is checked on every send,
 * against the address it resolves to then.
 */
export function whyWebhookUrlRefused(url: string, policy: AddressPolicy, production: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (url.length > 2048) return 'is longer than 2048 characters';
  if (parsed.username || parsed.password) return 'may not carry a user name or password';
  if (parsed.hash) return 'may not have a fragment (#…)';
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host) !== 0;
  if (parsed.protocol === 'http:') {
    if (production || !(literal ? isLoopbackAddress(host) : isLoopbackName(host))) {
      return 'must be https:// (http:// only to a loopback host such as 127.0.0.1 or localhost, and not in production)';
    }
  } else if (parsed.protocol !== 'https:') {
    return 'must be https://';
  }
  if (literal) {
    const refused = whyAddressRefused(host, policy);
    if (refused) return `names a refused address: ${refused} (allow its network with WEBHOOK_ALLOWED_NETWORKS)`;
  } else if (isLoopbackName(host) && whyAddressRefused('127.0.0.1', policy)) {
    // Resolves to loopback wherever it is resolved: every send would be refused, so refuse it now.
    return `names a loopback host (${host}), which webhooks may not reach here (allow 127.0.0.0/8 with WEBHOOK_ALLOWED_NETWORKS)`;
  }
  return undefined;
}
