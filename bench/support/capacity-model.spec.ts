import { capacityGrid, type CapacityInputs, projectCheckouts } from './capacity-model';

const inputs: CapacityInputs = {
  appMainThreadMs: 2,
  appProcessMs: 3,
  databaseMs: 1,
  eventsPerCheckout: 0,
  relayEventsPerSecond: 1000,
  appCoresPerInstance: 2,
};

describe('projectCheckouts', () => {
  it('is bound by the main thread of each instance while the database has room', () => {
    const sut = projectCheckouts(inputs, 2, 32);
    expect(sut.binding).toBe('app main thread');
    expect(sut.perSecond).toBe(1000);
    expect(sut.ceilings['app cores']).toBeCloseTo(2 * ((2 * 1000) / 3));
    expect(sut.ceilings['MariaDB CPU']).toBe(32_000);
  });

  it('is bound by the instance cores when an instance has fewer cores than its process uses per main thread', () => {
    const sut = projectCheckouts({ ...inputs, appCoresPerInstance: 1 }, 4, 32);
    expect(sut.binding).toBe('app cores');
    expect(sut.perSecond).toBeCloseTo((4 * 1000) / 3);
  });

  it('stops growing with N once the database CPU binds', () => {
    const few = projectCheckouts(inputs, 8, 2);
    const many = projectCheckouts(inputs, 16, 2);
    expect(few.binding).toBe('MariaDB CPU');
    expect(many.perSecond).toBe(few.perSecond);
    expect(many.perSecond).toBe(2000);
  });

  it('counts the relay only when checkouts commit events', () => {
    expect(projectCheckouts(inputs, 1, 2).ceilings['outbox relay']).toBe(Infinity);
    const sut = projectCheckouts({ ...inputs, eventsPerCheckout: 2, relayEventsPerSecond: 600 }, 3, 32);
    expect(sut.binding).toBe('outbox relay');
    expect(sut.perSecond).toBe(900);
  });
});

describe('capacityGrid', () => {
  it('has a row per instance count and a column per database size', () => {
    const sut = capacityGrid(inputs, [1, 2, 8], [2, 8]);
    expect(sut.map((row) => row.map((p) => p.perSecond))).toEqual([
      [500, 500],
      [1000, 1000],
      [2000, 4000],
    ]);
    expect(sut[2][0].binding).toBe('MariaDB CPU');
  });
});
