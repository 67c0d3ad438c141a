/**
 * Money is an integer number of fen (CNY minor units) everywhere inside the Payment Center.
 * Vendor formats ("12.34" yuan strings, `total` objects) exist only inside a gateway adapter.
 */
export type Fen = number;

export function isFen(value: unknown): value is Fen {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Sum of fen amounts that refuses to lose precision. */
export function sumFen(amounts: readonly Fen[]): Fen {
  const total = amounts.reduce((sum, amount) => sum + amount, 0);
  if (!Number.isSafeInteger(total)) throw new RangeError('amount exceeds the safe integer range');
  return total;
}

/** TypeORM transformer: BIGINT columns come back from mysql2 as strings; we keep them as safe integers. */
export const fenColumn = {
  to: (value: Fen | null | undefined): Fen | null | undefined => value,
  from: (value: string | number | null): Fen | null => {
    if (value === null) return null;
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new RangeError(`amount ${String(value)} is not a safe integer`);
    return n;
  },
};
