import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { codePointLength, IsText } from './text-field';

class Named {
  @IsText(1, 64)
  name: string;
}

const problems = (name: unknown) =>
  validateSync(plainToInstance(Named, { name })).flatMap((error) => Object.values(error.constraints ?? {}));

describe('IsText', () => {
  it('counts code points, as a utf8mb4 VARCHAR does', () => {
    expect(codePointLength('a\uFE0F'.repeat(64))).toBe(128);
    expect(codePointLength('😀'.repeat(64))).toBe(64);
    expect(codePointLength('龙井')).toBe(2);
    expect(problems('a\uFE0F'.repeat(64))).toEqual(['name must be 1-64 characters long (Unicode code points)']);
    expect(problems('a\uFE0F'.repeat(32))).toEqual([]);
    expect(problems('😀'.repeat(64))).toEqual([]); // 128 UTF-16 units, 64 characters: fits VARCHAR(64)
    expect(problems('😀'.repeat(65))).toHaveLength(1);
    expect(problems('')).toHaveLength(1);
  });

  it.each([
    ['NUL', 'a\u0000b'],
    ['newline', 'a\nb'],
    ['DEL', 'a\u007fb'],
    ['C1 (NEL)', 'a\u0085b'],
    ['right-to-left override', 'invoice\u202Efdp.exe'],
    ['LRE', '\u202Aa'],
    ['pop directional isolate', 'a\u2069'],
    ['right-to-left isolate', '\u2067a'],
    ['left-to-right mark', 'a\u200E'],
    ['right-to-left mark', 'a\u200F'],
    ['Arabic letter mark', 'a\u061C'],
  ])('refuses %s', (_, value) => {
    expect(problems(value)).toEqual([
      'name must not contain control characters or bidirectional formatting characters',
    ]);
  });

  it('refuses a lone surrogate and a value that is not a string', () => {
    expect(problems('a\uD800b')).toEqual(['name must be well-formed Unicode (a lone surrogate was sent)']);
    expect(problems(42)).toEqual(['name must be a string']);
    expect(problems(['a'])).toEqual(['name must be a string']);
  });

  it('accepts what shops really send: CJK, accents, emoji, spaces, a zero-width joiner', () => {
    for (const value of ['龙井茶 250g', 'Crème brûlée', '👩‍👩‍👧 family pack', 'TEA-001', 'עברית', 'عربي'])
      expect(problems(value)).toEqual([]);
  });
});
