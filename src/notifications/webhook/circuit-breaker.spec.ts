import { CircuitBreaker } from './circuit-breaker';

const COOLDOWN = 30_000;
const T0 = Date.parse('2025-03-01T08:00:00.000Z');

/** A circuit of threshold 3, opened at T0 by three failed sends in a row. */
function opened(): CircuitBreaker {
  const circuit = new CircuitBreaker(3, COOLDOWN);
  expect(circuit.failed(T0)).toBe(false);
  expect(circuit.failed(T0)).toBe(false);
  expect(circuit.failed(T0)).toBe(true);
  return circuit;
}

describe('CircuitBreaker', () => {
  it('is closed at first: sends are not limited', () => {
    const circuit = new CircuitBreaker(3, COOLDOWN);
    expect(circuit.sendsAllowed(T0, 0)).toBe(Number.POSITIVE_INFINITY);
    expect(circuit.sendsAllowed(T0, 7)).toBe(Number.POSITIVE_INFINITY);
    expect(circuit.describe(T0)).toEqual({ state: 'closed', failuresInRow: 0, openUntil: null });
  });

  it('opens after threshold failures in a row, not before', () => {
    const circuit = new CircuitBreaker(3, COOLDOWN);
    circuit.failed(T0);
    circuit.failed(T0);
    expect(circuit.sendsAllowed(T0, 0)).toBe(Number.POSITIVE_INFINITY);
    expect(circuit.describe(T0).state).toBe('closed');
    expect(circuit.failed(T0 + 5)).toBe(true);
    expect(circuit.describe(T0 + 5)).toEqual({
      state: 'open',
      failuresInRow: 3,
      openUntil: new Date(T0 + 5 + COOLDOWN).toISOString(),
    });
  });

  it('needs the failures in a row: a success in between starts the count again', () => {
    const circuit = new CircuitBreaker(3, COOLDOWN);
    circuit.failed(T0);
    circuit.failed(T0);
    circuit.succeeded();
    expect(circuit.failed(T0)).toBe(false);
    expect(circuit.failed(T0)).toBe(false);
    expect(circuit.sendsAllowed(T0, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('allows no send while open, then one trial at a time when half-open', () => {
    const circuit = opened();
    expect(circuit.sendsAllowed(T0, 0)).toBe(0);
    expect(circuit.sendsAllowed(T0 + COOLDOWN - 1, 0)).toBe(0);
    expect(circuit.describe(T0 + COOLDOWN).state).toBe('half-open');
    expect(circuit.describe(T0 + COOLDOWN).openUntil).toBeNull();
    expect(circuit.sendsAllowed(T0 + COOLDOWN, 0)).toBe(1);
    expect(circuit.sendsAllowed(T0 + COOLDOWN, 1)).toBe(0); // the trial is in flight
  });

  it('closes on a successful trial', () => {
    const circuit = opened();
    circuit.succeeded();
    expect(circuit.sendsAllowed(T0 + COOLDOWN, 0)).toBe(Number.POSITIVE_INFINITY);
    expect(circuit.describe(T0 + COOLDOWN)).toEqual({ state: 'closed', failuresInRow: 0, openUntil: null });
  });

  it('reopens for twice as long on each failed trial, up to 32x the cooldown', () => {
    const circuit = opened();
    let now = T0;
    let cooldown = COOLDOWN;
    for (const factor of [2, 4, 8, 16, 32, 32, 32]) {
      now += cooldown; // half-open: the trial goes out and fails
      expect(circuit.sendsAllowed(now, 0)).toBe(1);
      expect(circuit.failed(now)).toBe(true);
      cooldown = COOLDOWN * factor;
      expect(circuit.sendsAllowed(now + cooldown - 1, 0)).toBe(0);
      expect(circuit.sendsAllowed(now + cooldown, 0)).toBe(1);
      expect(circuit.describe(now).openUntil).toBe(new Date(now + cooldown).toISOString());
    }
  });

  it('starts from the first cooldown again after a success', () => {
    const circuit = opened();
    circuit.failed(T0 + COOLDOWN); // a failed trial: 2x
    circuit.failed(T0 + 3 * COOLDOWN); // another: 4x
    circuit.succeeded();
    circuit.failed(T0 + 10 * COOLDOWN);
    circuit.failed(T0 + 10 * COOLDOWN);
    expect(circuit.failed(T0 + 10 * COOLDOWN)).toBe(true);
    expect(circuit.sendsAllowed(T0 + 11 * COOLDOWN - 1, 0)).toBe(0);
    expect(circuit.sendsAllowed(T0 + 11 * COOLDOWN, 0)).toBe(1);
  });

  it('does not lengthen the cooldown for sends that were in flight when it opened (they are no trials)', () => {
    // Concurrency 5, threshold 3: five sends out when the partner goes down; they all fail, one after the other.
    const circuit = new CircuitBreaker(3, COOLDOWN);
    circuit.failed(T0);
    circuit.failed(T0 + 1);
    expect(circuit.failed(T0 + 2)).toBe(true);
    expect(circuit.failed(T0 + 3)).toBe(false);
    expect(circuit.failed(T0 + 4)).toBe(false);
    expect(circuit.sendsAllowed(T0 + 2 + COOLDOWN, 0)).toBe(1);
    // The trial fails: twice the first cooldown, not more.
    expect(circuit.failed(T0 + 2 + COOLDOWN)).toBe(true);
    expect(circuit.sendsAllowed(T0 + 2 + 3 * COOLDOWN, 0)).toBe(1);
  });

  it('a circuit of threshold 1 opens on the first failure', () => {
    const circuit = new CircuitBreaker(1, COOLDOWN);
    expect(circuit.failed(T0)).toBe(true);
    expect(circuit.sendsAllowed(T0, 0)).toBe(0);
  });
});
