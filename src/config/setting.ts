import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsString, Matches, Max, Min, type ValidationOptions } from 'class-validator';

/**
 * The groups of settings, in the order `.env.example` lists them, each with the sentence that heads it there
 * (empty: the settings of the group speak for themselves).
 */
export const SETTING_GROUPS = {
  mode: '',
  http: '',
  database: 'MariaDB 10.6+ / MySQL 8 connection. The user needs CREATE on the schema when DB_MIGRATE_ON_START=true.',
  redis: '',
  rabbitmq: '',
  orders: '',
  idempotency: 'Duplicate-submission guard (Idempotency-Key and double clicks).',
  gateways: '',
  recovery:
    'Recovery of payments without a result (the query schedule, the reconciler), the daily statement ' +
    "reconciliation and Orders' own timer.",
  barcode:
    'Barcode payments at a counter (the buyer shows a payment code): queried, then reversed when still ' +
    'undecided (docs/barcode.md).',
  identity:
    "Who pays inside WeChat or Alipay: the vendors' OAuth behind /api/buyer-identities and the aggregate code " +
    '(docs/pay-modes.md).',
  partners:
    'Payment events to business systems over RabbitMQ (docs/asyncapi.yaml) or HTTP webhooks (docs/webhooks.md), ' +
    'and our own Orders consumer.',
  relay: 'Outbox relay: publishes payment events with publisher confirms.',
  webhooks: 'Partners over HTTP: signed POSTs, their retry schedule and the SSRF guard (docs/webhooks.md).',
  events: 'The events API (GET /api/events) and how long events are kept.',
  admin: '',
  proxy: '',
  metrics: '',
  sandbox: '',
  wechat: 'WeChat Pay API v3, used when GATEWAY_MODE=live (all required then).',
  alipay: 'Alipay (openapi gateway.do, RSA2), used when GATEWAY_MODE=live (all required then).',
  unionpay: 'UnionPay online gateway 5.1.0, used when GATEWAY_MODE=live (all required then).',
  shutdown: '',
  logging: '',
} as const;

export type SettingGroup = keyof typeof SETTING_GROUPS;

export interface SettingOptions {
  /**
   * true: the value is a secret or holds some, so a refusal names the key but never prints the value.
   * 'url-password': a URL that may carry a password (`amqp://user:password@host`), printed with it masked.
   */
  secret?: true | 'url-password';
  /** What `.env.example` shows when it is not the default: '' leaves the key unset there (see the key's doc). */
  example?: string;
  /** An empty value is a value (a blank database password), not "unset, use the default". */
  emptyIsAValue?: true;
}

export interface SettingDoc extends SettingOptions {
  key: string;
  group: SettingGroup;
  /** What the setting does, for the person editing `.env`: one or a few sentences. */
  doc: string;
}

const documented = new Map<string, SettingDoc>();

/** Declares a key of the Environment schema: its group, its documentation and how its value may be shown. */
export function Setting(group: SettingGroup, doc: string, options: SettingOptions = {}): PropertyDecorator {
  return (_target, key) => {
    if (typeof key !== 'string') throw new Error('a setting is named by a string');
    documented.set(key, { key, group, doc, ...options });
  };
}

/** The documentation of `key`, as declared with @Setting; throws when the key has none. */
export function settingDoc(key: string): SettingDoc {
  const doc = documented.get(key);
  if (!doc) throw new Error(`${key} has no @Setting in the Environment schema`);
  return doc;
}

/** Several property decorators as one, applied as if written one above the other in this order. */
function stacked(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => {
    for (const decorator of [...decorators].reverse()) decorator(target, key);
  };
}

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (value === 'true' || value === true) return true;
  if (value === 'false' || value === false) return false;
  return value;
};

const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

/** A refusal message that starts with the key's name: `DB_NAME must be …`. */
export const naming = (rule: string): ValidationOptions => ({ message: ({ property }) => `${property} ${rule}` });

/** An integer given as digits, within [min, max] (no upper bound when max is left out). */
export const Int = (min: number, max?: number): PropertyDecorator =>
  stacked(Transform(toInteger), IsInt(), Min(min), ...(max === undefined ? [] : [Max(max)]));

/** `true` or `false`. */
export const Bool = (): PropertyDecorator => stacked(Transform(toBoolean), IsBoolean());

/** A string matching `pattern`; the refusal says `<KEY> <rule>`. */
export const Pattern = (pattern: RegExp, rule: string): PropertyDecorator =>
  stacked(IsString(), Matches(pattern, naming(rule)));

const DURATION_LIST = /^\s*\d+(ms|s|m|h|d)\s*(,\s*\d+(ms|s|m|h|d)\s*)*$/;

/** Durations such as `30s,10s,20s,30s` (ms, s, m, h or d); `rule` says what is expected, with an example. */
export const Durations = (rule: string): PropertyDecorator => Pattern(DURATION_LIST, rule);

/** A cron expression with five or six fields. */
export const Cron = (example: string): PropertyDecorator =>
  Pattern(/^\S+( \S+){4,5}$/, `must be a cron expression like ${example}`);

/** An http(s) origin without a path. */
export const Origin = (): PropertyDecorator =>
  Pattern(/^https?:\/\/[^/]+$/, 'must be an http(s) origin without a path');
