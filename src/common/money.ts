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

/** Vendors write yuan strings with two decimals ("12.34"); we hold integer fen. Converted exactly, never via floats. */
export function fenToYuan(amountFen: number): string {
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0) throw new RangeError(`amount ${amountFen} fen is invalid`);
  return `${Math.floor(amountFen / 100)}.${String(amountFen % 100).padStart(2, '0')}`;
}

export function yuanToFen(yuan: string): number | undefined {
  const match = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(yuan.trim());
  if (!match) return undefined;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}
