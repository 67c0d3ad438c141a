import type { PartnerConfig } from '../../src/config/environment';

/**
 * Partners unique to one test run: `partner.<prefix><run id>-<name>` queues, so suites never read each
 * other's events (and test setup can find and delete queues a killed run left behind). With `applications`,
 * the partner receives only those applications' events (PARTNERS `applications`).
 */
export function testPartners(
  prefix: string,
): (name: string, bindings?: string[], applications?: string[]) => PartnerConfig {
  const run = Date.now().toString(36);
  return (name, bindings = ['payment.#'], applications) => ({
    name: `${prefix}${run}-${name}`,
    bindings,
    keyId: `${prefix}${run}-${name}-k1`,
    secret: `secret-${name}-${run}-0123456789abcdefghij`,
    ...(applications ? { applications } : {}),
  });
}
