/**
 * Keeps the last result of `load` for `ttlMs` and shares one load among concurrent callers, so a scrape
 * storm (several Prometheus servers, someone refreshing by hand) costs the database one round of queries
 * per `ttlMs` at most. `load` should report failures in its result: a rejected load is not kept.
 */
export class SnapshotCache<T> {
  private kept?: { at: number; value: T };
  private loading?: Promise<T>;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
    // Monotonic: a clock moved by tests (or NTP) must not keep a snapshot forever.
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(): Promise<T> {
    if (this.kept && this.now() - this.kept.at < this.ttlMs) return Promise.resolve(this.kept.value);
    this.loading ??= this.load()
      .then((value) => {
        this.kept = { at: this.now(), value };
        return value;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}
