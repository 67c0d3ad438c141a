import { execSync } from 'node:child_process';

// The exact command this machine starts Redis with (see the env notes); a test that stops Redis starts it
// again the same way.
const REDIS_START =
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no ' +
  '--dir /var/lib/redis --logfile /var/log/redis/ci.log';

function redisAnswers(): boolean {
  try {
    return (
      execSync('redis-cli -h 127.0.0.1 -p 6379 ping', { stdio: 'pipe', timeout: 2000 }).toString().trim() === 'PONG'
    );
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function stopRedis(): Promise<void> {
  try {
    execSync('redis-cli -h 127.0.0.1 -p 6379 shutdown nosave', { stdio: 'pipe', timeout: 5000 });
  } catch {
    // redis-cli reports the dropped connection as an error; what counts is that it no longer answers
  }
  await waitUntil(() => !redisAnswers(), 'Redis to stop');
}

export async function startRedis(): Promise<void> {
  if (!redisAnswers()) execSync(REDIS_START, { stdio: 'pipe', timeout: 10_000 });
  await waitUntil(redisAnswers, 'Redis to answer');
}

export function flushRedis(): void {
  execSync('redis-cli -h 127.0.0.1 -p 6379 flushall', { stdio: 'pipe', timeout: 5000 });
}

/** Empties this run's Redis database (REDIS_URL's number) only: other runs on the server keep theirs. */
export function flushRedisDatabase(): void {
  const db = Number(new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').pathname.slice(1) || '0');
  execSync(`redis-cli -h 127.0.0.1 -p 6379 -n ${db} flushdb`, { stdio: 'pipe', timeout: 5000 });
}
