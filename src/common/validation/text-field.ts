import { ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * Characters refused in names, ids and reasons: C0 and C1 controls (with DEL), and the bidirectional
 * formatting characters (LRE/RLE/PDF/LRO/RLO U+202A–U+202E, LRI/RLI/FSI/PDI U+2066–U+2069, LRM/RLM U+200E/F,
 * ALM U+061C). A bidi override makes a name read differently on screen than in the database ("Trojan
 * Source"), so an operator or a buyer reading a bill sees something other than what was stored.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
/** With the `u` flag a well-formed pair is one code point; only a lone half matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Code points, as MariaDB's utf8mb4 VARCHAR(n) and JSON Schema's maxLength count them. */
export function codePointLength(value: string): number {
  let length = 0;
  for (const _ of value) length += 1;
  return length;
}

/** What is wrong with `value` as a bounded text field, or undefined when nothing is. */
export function textProblem(value: unknown, min: number, max: number): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode (a lone surrogate was sent)';
  const length = codePointLength(value);
  if (length < min || length > max) return `must be ${min}-${max} characters long (Unicode code points)`;
  if (FORBIDDEN.test(value)) return 'must not contain control characters or bidirectional formatting characters';
  return undefined;
}

/**
 * A string of `min`..`max` characters counted as Unicode code points, so the bound is the column's
 * `VARCHAR(max)` (class-validator's `Length` counts UTF-16 units minus U+FE0E/U+FE0F variation selectors:
 * 64 × "a\uFE0F" passes `Length(1, 64)` as 64 but is 128 code points, and MariaDB in strict mode
 * refuses the row). No control or bidi formatting characters, no lone surrogates. Use it on every
 * name, id and reason a caller sends; it implies `IsString`.
 */
export function IsText(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isText',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) => textProblem(value, min, max) === undefined,
        defaultMessage: (args) => `${args?.property ?? 'value'} ${textProblem(args?.value, min, max) ?? 'is invalid'}`,
      },
    },
    options,
  );
}
