import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsString,
  Matches,
  Max,
  Min,
  validateSync,
  type ValidationError,
} from 'class-validator';

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (value === 'true' || value === true) return true;
  if (value === 'false' || value === false) return false;
  return value;
};

const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

const DURATION_LIST = /^\s*\d+(ms|s|m|h)\s*(,\s*\d+(ms|s|m|h)\s*)*$/;

/**
 * Every setting the app reads, with its default for a local run. `.env.example` documents each one;
 * the app refuses to start when a value is missing or malformed and names the key.
 */
export class Environment {
  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @IsNotEmpty()
  DB_HOST = '127.0.0.1';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(65535)
  DB_PORT = 3306;

  @IsString()
  @IsNotEmpty()
  DB_USER = 'root';

  @IsString()
  DB_PASSWORD = '';

  @IsString()
  @Matches(/^[A-Za-z0-9_]{1,64}$/, { message: 'DB_NAME must be 1-64 letters, digits or underscores' })
  DB_NAME = 'payment_center';

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_POOL_SIZE = 20;

  @Transform(toBoolean)
  @IsBoolean()
  DB_MIGRATE_ON_START = true;

  @IsString()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @IsString()
  @Matches(/^amqps?:\/\/.+/, { message: 'RABBITMQ_URL must be an amqp:// or amqps:// URL' })
  RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

  @Transform(toInteger)
  @IsInt()
  @Min(60)
  @Max(7 * 24 * 3600)
  ORDER_EXPIRES_IN_SECONDS = 1800;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  // WeChat Pay's `amount.total` is a 32-bit signed integer of fen: nothing larger can be paid anywhere.
  @Max(2_147_483_647)
  ORDER_MAX_AMOUNT_FEN = 10_000_000;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(7 * 24 * 3600)
  IDEMPOTENCY_KEY_TTL_SECONDS = 86_400;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(3600)
  IDEMPOTENCY_DERIVED_TTL_SECONDS = 10;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(3600)
  IDEMPOTENCY_IN_FLIGHT_TTL_SECONDS = 60;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  @Max(60_000)
  GATEWAY_TIMEOUT_MS = 10_000;

  @IsString()
  @Matches(DURATION_LIST, { message: 'PAYMENT_QUERY_SCHEDULE must be a comma-separated list like 30s,10s,20s,30s' })
  PAYMENT_QUERY_SCHEDULE = '30s,10s,20s,30s';

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';
}

export class InvalidEnvironment extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidEnvironment';
  }
}

/** Validates raw environment values; throws InvalidEnvironment naming every bad key. */
export function validateEnvironment(raw: Record<string, unknown>): Environment {
  const known = Object.keys(new Environment());
  // Empty strings in a .env mean "unset" except where empty is a legal value (a blank DB password).
  const present = Object.fromEntries(
    Object.entries(raw).filter(([key, value]) => known.includes(key) && (value !== '' || key === 'DB_PASSWORD')),
  );
  const env = plainToInstance(Environment, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: true });
  if (errors.length > 0) {
    throw new InvalidEnvironment(errors.map((e) => describe(e, raw)));
  }
  return env;
}

function describe(error: ValidationError, raw: Record<string, unknown>): string {
  const value = raw[error.property];
  const shown = value === undefined ? '(not set)' : JSON.stringify(value);
  const reasons = Object.values(error.constraints ?? {}).join('; ');
  return `${error.property}=${shown}: ${reasons}`;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Parses `30s,10s,20s,30s` into milliseconds. */
export function parseDurationList(list: string): number[] {
  return list.split(',').map((part) => {
    const match = /^(\d+)(ms|s|m|h)$/.exec(part.trim());
    if (!match) throw new Error(`Not a duration: ${part}`);
    return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  });
}
