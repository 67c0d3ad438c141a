/**
 * The capacity model of bench/capacity.bench.ts: checkouts per second for N app instances against a MariaDB of
 * C cores, from figures measured per checkout on one machine. Pure: every input is a measured figure.
 *
 * Assumptions (stated with the table in RESULTS.md):
 * - each app instance runs on a host of its own with `appCoresPerInstance` cores; its JavaScript runs on one
 *   main thread, so one instance serves at most 1000 / main-thread ms checkouts per second, and its whole
 *   process (GC, compiler and libuv threads besides) at most cores × 1000 / process ms;
 * - MariaDB's CPU per checkout stays what it was here, and its throughput grows linearly with its cores (no
 *   contention on its internal latches, the redo log's group commit or the disk beyond what was measured);
 * - row locks bound one order's rate, not the total: checkouts of different orders lock different intent and
 *   payment rows, so lock hold times appear in the latency, not as a ceiling of the sum;
 * - the outbox relay runs on every instance and shares the backlog through SKIP LOCKED claims, so it scales
 *   with N until the broker does not (RabbitMQ's own ceiling is not modelled);
 * - the load generator, the network, Redis and RabbitMQ are not counted (Redis does a handful of commands per
 *   checkout; both are far from their ceilings at these rates).
 */

/** What one checkout costs, measured (milliseconds of CPU per checkout, events per checkout, events/s). */
export interface CapacityInputs {
  /** CPU of the app's main thread (the one that runs JavaScript) per checkout. */
  appMainThreadMs: number;
  /** CPU of the app's whole process per checkout. */
  appProcessMs: number;
  /** CPU of MariaDB (all its threads) per checkout. */
  databaseMs: number;
  /** Outbox events a checkout commits (each published by a relay). */
  eventsPerCheckout: number;
  /** Events one instance's relay publishes per second with confirms. */
  relayEventsPerSecond: number;
  /** Cores of each app instance's host. */
  appCoresPerInstance: number;
}

export type Resource = 'app main thread' | 'app cores' | 'MariaDB CPU' | 'outbox relay';

export interface Projection {
  perSecond: number;
  /** The resource that saturates first (the smallest ceiling). */
  binding: Resource;
  /** Every resource's ceiling in checkouts/s (Infinity when it bounds nothing, e.g. a relay with no events). */
  ceilings: Record<Resource, number>;
}

/** Checkouts per second of `instances` app instances against a MariaDB of `databaseCores` cores. */
export function projectCheckouts(inputs: CapacityInputs, instances: number, databaseCores: number): Projection {
  const per = (budgetMs: number, costMs: number) => (costMs > 0 ? budgetMs / costMs : Infinity);
  const ceilings: Record<Resource, number> = {
    'app main thread': instances * per(1000, inputs.appMainThreadMs),
    'app cores': instances * per(inputs.appCoresPerInstance * 1000, inputs.appProcessMs),
    'MariaDB CPU': per(databaseCores * 1000, inputs.databaseMs),
    'outbox relay':
      inputs.eventsPerCheckout > 0 ? (instances * inputs.relayEventsPerSecond) / inputs.eventsPerCheckout : Infinity,
  };
  let binding: Resource = 'app main thread';
  for (const resource of Object.keys(ceilings) as Resource[])
    if (ceilings[resource] < ceilings[binding]) binding = resource;
  return { perSecond: ceilings[binding], binding, ceilings };
}

/** The projection for every N of `instances` (rows) and C of `databaseCores` (columns). */
export function capacityGrid(
  inputs: CapacityInputs,
  instances: readonly number[],
  databaseCores: readonly number[],
): Projection[][] {
  return instances.map((n) => databaseCores.map((c) => projectCheckouts(inputs, n, c)));
}
