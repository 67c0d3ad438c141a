import { randomBytes } from 'node:crypto';
import { DEFAULTS } from './environment';

/**
 * `npm start` on a fresh clone needs no .env, yet no secret may have a published default. So a local run
 * (NODE_ENV is not production) without PARTNERS gets the Orders module's event key made here, random for
 * this process: the relay signs with it and the Orders consumer in the same process checks it. Events
 * still queued from an earlier run fail that check and are dead-lettered; Orders' own timer asks the
 * PaymentCenter about those orders instead. Production refuses to start without PARTNERS (fail-closed.ts).
 *
 * Writes what it makes into `env` (before the configuration is read) and returns one line per secret for
 * the log, naming the setting and never the value.
 */
export function provideLocalSecrets(env: NodeJS.ProcessEnv): string[] {
  if (env.NODE_ENV === 'production' || (env.PARTNERS !== undefined && env.PARTNERS !== '')) return [];
  const orders = env.ORDERS_PARTNER || DEFAULTS.ORDERS_PARTNER;
  const partner = { name: orders, bindings: ['payment.#'], keyId: `${orders}-local`, secret: randomSecret() };
  env.PARTNERS = JSON.stringify([partner]);
  return [
    `PARTNERS is not set: the Orders module's event key (${partner.keyId}) is random, made for this run only. ` +
      'Set PARTNERS in any shared environment; NODE_ENV=production requires it.',
  ];
}

const randomSecret = () => randomBytes(32).toString('base64url');
