import { SnapshotCache } from './snapshot-cache';

describe('SnapshotCache', () => {
  let now: number;
  let loads: number;
  let release: (() => void)[];

  /** A load that finishes only when the test releases it, and returns its own number. */
  const load = () => {
    loads += 1;
    const n = loads;
    return new Promise<number>((resolve) => release.push(() => resolve(n)));
  };

  beforeEach(() => {
    now = 0;
    loads = 0;
    release = [];
  });

  it('shares one load among callers that ask while it runs', async () => {
    const sut = new SnapshotCache(load, 5000, () => now);
    const asked = [sut.get(), sut.get(), sut.get()];
    expect(loads).toBe(1);
    release[0]();
    expect(await Promise.all(asked)).toEqual([1, 1, 1]);
  });

  it('keeps the result for the ttl after the load finished, then loads again', async () => {
    const sut = new SnapshotCache(load, 5000, () => now);
    const first = sut.get();
    now = 1000; // the load took a second: the ttl counts from here
    release[0]();
    expect(await first).toBe(1);
    now = 5999;
    expect(await sut.get()).toBe(1);
    now = 6000;
    const second = sut.get();
    release[1]();
    expect(await second).toBe(2);
    expect(loads).toBe(2);
  });

  it('does not keep a load that rejected', async () => {
    let fail = true;
    const sut = new SnapshotCache(
      () => (fail ? Promise.reject(new Error('down')) : Promise.resolve(7)),
      5000,
      () => now,
    );
    await expect(sut.get()).rejects.toThrow('down');
    fail = false;
    expect(await sut.get()).toBe(7);
  });

  it('with a ttl of 0 loads on every call that does not overlap a running load', async () => {
    const sut = new SnapshotCache(load, 0, () => now);
    const first = sut.get();
    release[0]();
    await first;
    const second = sut.get();
    release[1]();
    expect(await second).toBe(2);
  });
});
