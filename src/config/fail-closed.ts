import { dirname, relative, resolve, isAbsolute } from 'node:path';
import { isSandboxKeySet } from '../gateways/wire/sandbox-key-set';
import type { AdminTokenConfig, Environment, PartnerConfig } from './environment';
import { parseAllowedNetworks, whyWebhookUrlRefused } from '../notifications/webhook/address-policy';
import { secretProblem } from './secret-rules';
import { isWebhookPartner, parseDurationList } from './setting-values';

/**
 * The one value of ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION that lets a production process run on the gateway
 * sandbox (a demo from the production image). Loud on purpose: nobody sets it by accident or as "true".
 */
export const SANDBOX_IN_PRODUCTION_OPT_IN = 'i-understand-this-takes-no-real-money';

export const isProduction = (env: Pick<Environment, 'NODE_ENV'>): boolean => env.NODE_ENV === 'production';

/**
 * Settings that are each well-formed but unsafe, alone or together: the boot refuses them, naming the key.
 * With NODE_ENV=production nothing that takes no real money or has a published default may start.
 */
export function failClosedProblems(
  env: Environment,
  raw: Record<string, unknown>,
  parsed: {
    partners?: readonly PartnerConfig[];
    adminTokens?: readonly AdminTokenConfig[];
    /** RABBITMQ_URL's nodes; undefined when the list was refused (already reported). */
    rabbitmqUrls?: readonly string[];
  },
): string[] {
  const problems: string[] = [];
  parsed.partners?.forEach((partner, i) => {
    const problem = secretProblem(partner.secret);
    if (problem) problems.push(`PARTNERS[${i}].secret (partner ${partner.name}) ${problem}`);
    const second = partner.secondKey && secretProblem(partner.secondKey.secret);
    if (second) problems.push(`PARTNERS[${i}].keys[1].secret (partner ${partner.name}) ${second}`);
  });
  problems.push(...webhookProblems(env, parsed.partners ?? []));
  // A replay and a partner catching up with GET /api/events need the events kept at least a day.
  if ((parseDurationList(env.EVENTS_RETENTION)[0] ?? 0) < 86_400_000) {
    problems.push(`EVENTS_RETENTION=${JSON.stringify(env.EVENTS_RETENTION)}: must be at least 1d`);
  }
  parsed.adminTokens?.forEach((token, i) => {
    const problem = secretProblem(token.token);
    if (problem) problems.push(`ADMIN_TOKENS[${i}].token (${token.name}) ${problem}`);
  });
  if (env.METRICS_TOKEN) {
    const problem = secretProblem(env.METRICS_TOKEN);
    if (problem) problems.push(`METRICS_TOKEN ${problem}`);
  }
  // UnionPay issues its signing certificates to 中国银联股份有限公司 in production; only its test
  // environment signs with others. Relaxing the check against the production host would accept any
  // certificate the configured root ever issued, whoever holds it.
  if (!env.UNIONPAY_REQUIRE_UNIONPAY_CN && isUnionPayProductionHost(env.UNIONPAY_GATEWAY_URL)) {
    problems.push(
      `UNIONPAY_REQUIRE_UNIONPAY_CN=false: refused while UNIONPAY_GATEWAY_URL (${env.UNIONPAY_GATEWAY_URL}) is ` +
        `UnionPay's production host; only its test environment (gateway.test.95516.com) may relax the CN check`,
    );
  }
  if (isProduction(env)) problems.push(...productionProblems(env, raw, parsed.rabbitmqUrls ?? []));
  return problems;
}

/**
 * The SSRF guard at registration: a webhook partner's URL must be one we may connect to (address-policy.ts), and
 * WEBHOOK_ALLOWED_NETWORKS must be networks.
 */
function webhookProblems(env: Environment, partners: readonly PartnerConfig[]): string[] {
  let allowed;
  try {
    allowed = parseAllowedNetworks(env.WEBHOOK_ALLOWED_NETWORKS);
  } catch (error) {
    return [`WEBHOOK_ALLOWED_NETWORKS=${JSON.stringify(env.WEBHOOK_ALLOWED_NETWORKS)}: ${(error as Error).message}`];
  }
  const production = isProduction(env);
  const policy = { allowed, allowLoopback: !production && env.WEBHOOK_ALLOW_LOOPBACK };
  return partners.flatMap((partner, i) => {
    if (!isWebhookPartner(partner)) return [];
    const refused = whyWebhookUrlRefused(partner.url, policy, production);
    return refused ? [`PARTNERS[${i}].url (partner ${partner.name}) ${refused}`] : [];
  });
}

function productionProblems(env: Environment, raw: Record<string, unknown>, rabbitmqUrls: readonly string[]): string[] {
  const problems: string[] = [];
  const unset = (key: keyof Environment) => raw[key] === undefined || raw[key] === '';
  if (env.GATEWAY_MODE === 'sandbox' && env.ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION !== SANDBOX_IN_PRODUCTION_OPT_IN) {
    problems.push(
      `GATEWAY_MODE=${unset('GATEWAY_MODE') ? '(not set, so sandbox)' : '"sandbox"'}: refused with NODE_ENV=production: ` +
        `the sandbox takes no real money and trusts its own test keys. Set GATEWAY_MODE=live with the merchant ` +
        `settings, or for a demo ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION=${SANDBOX_IN_PRODUCTION_OPT_IN}`,
    );
  }
  if (env.GATEWAY_MODE === 'live') problems.push(...sandboxInLiveMode(env));
  if (unset('PARTNERS')) {
    problems.push(
      'PARTNERS=(not set): required with NODE_ENV=production: the Orders module and every partner verify ' +
        'payment events with these HMAC keys (an explicit [] means no event consumers)',
    );
  }
  if (!env.METRICS_TOKEN) {
    problems.push(
      'METRICS_TOKEN=(not set): required with NODE_ENV=production (GET /metrics names payments and queues)',
    );
  }
  // Every node of the list: the app logs in to whichever answers, so one guest URL is a guest login.
  rabbitmqUrls.forEach((url, i) => {
    const broker = new URL(url);
    // amqplib logs in as guest/guest when the URL names no user.
    const user = decodeURIComponent(broker.username) || 'guest';
    if (user !== 'guest') return;
    const which = rabbitmqUrls.length > 1 ? `RABBITMQ_URL (URL ${i + 1} of ${rabbitmqUrls.length})` : 'RABBITMQ_URL';
    problems.push(
      `${which}: the user is ${broker.username ? '"guest"' : '(none, so "guest")'}, RabbitMQ's default with a ` +
        'published password: refused with NODE_ENV=production. Create a user of its own for the Payment Center',
    );
  });
  return problems;
}

const LIVE_URLS = ['WECHAT_API_BASE_URL', 'ALIPAY_GATEWAY_URL', 'UNIONPAY_GATEWAY_URL', 'UNIONPAY_FILE_URL'] as const;

const LIVE_KEY_FILES = [
  'WECHAT_MERCHANT_PRIVATE_KEY_FILE',
  'ALIPAY_APP_PRIVATE_KEY_FILE',
  'ALIPAY_PUBLIC_KEY_FILE',
  'UNIONPAY_SIGN_KEY_FILE',
  'UNIONPAY_SIGN_CERT_FILE',
  'UNIONPAY_ROOT_CERT_FILE',
  'UNIONPAY_MIDDLE_CERT_FILE',
] as const;

/**
 * GATEWAY_MODE=live in production must reach the vendors with the merchant's keys: a URL of the gateway
 * sandbox (or any plain http) or a key from the sandbox's generated set would be a sandbox under another name.
 */
function sandboxInLiveMode(env: Environment): string[] {
  const problems: string[] = [];
  const sandbox = originOf(env.SANDBOX_URL);
  for (const key of LIVE_URLS) {
    const value = env[key];
    if (originOf(value) === sandbox) {
      problems.push(`${key}="${value}": is the gateway sandbox (SANDBOX_URL), refused with GATEWAY_MODE=live`);
    } else if (!/^https:\/\//i.test(value)) {
      problems.push(`${key}="${value}": must be an https:// URL of the vendor with NODE_ENV=production`);
    }
  }
  const files: [string, string][] = LIVE_KEY_FILES.map((key) => [key, env[key]]);
  try {
    const platformKeys = JSON.parse(env.WECHAT_PLATFORM_KEYS) as Record<string, unknown>;
    for (const [id, file] of Object.entries(platformKeys)) {
      if (typeof file === 'string') files.push([`WECHAT_PLATFORM_KEYS.${id}`, file]);
    }
  } catch {
    // Malformed: the WeChat adapter refuses it at start with its own message.
  }
  const sandboxDir = resolve(env.SANDBOX_KEYS_DIR);
  for (const [key, file] of files) {
    if (!file) continue;
    const path = resolve(file);
    const inside = relative(sandboxDir, path);
    if ((!inside.startsWith('..') && !isAbsolute(inside)) || isSandboxKeySet(dirname(path))) {
      problems.push(
        `${key}="${file}": is one of the gateway sandbox's generated test keys, refused with GATEWAY_MODE=live`,
      );
    }
  }
  return problems;
}

/** The origin with loopback spellings made one, so 127.0.0.1, localhost and [::1] compare equal. */
function originOf(url: string): string {
  try {
    const parsed = new URL(url);
    const host = ['localhost', '127.0.0.1', '[::1]', '0.0.0.0'].includes(parsed.hostname)
      ? 'loopback'
      : parsed.hostname;
    return `${parsed.protocol}//${host}:${parsed.port || (parsed.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return url;
  }
}

/**
 * UnionPay's production hosts are under 95516.com (gateway., filedownload.); its test environment is under
 * test.95516.com (acpsdk's SDKConfig for 生产环境 and for the 入网测试环境).
 */
export function isUnionPayProductionHost(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase().replace(/\.$/, '');
  } catch {
    return true; // unreadable: assume the worst
  }
  const underUnionPay = host === '95516.com' || host.endsWith('.95516.com');
  return underUnionPay && !host.endsWith('.test.95516.com');
}
