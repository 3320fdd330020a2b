/**
 * The number rule (lib/ingest/numbers.ts): the CSV byte path's fast parse of the common shape
 * (parseSimpleNumberBytes) either declines (NaN: the caller decodes the text and uses the text
 * rule) or gives exactly what the text rule gives, on any text of digits, signs, dots and blanks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseNumberRange, parseSimpleNumberBytes, simpleNumberBytesInto } from '../lib/ingest/numbers.js';

const chars = fc.constantFrom('0', '1', '2', '5', '7', '9', '.', '-', '+', ' ', '\t', 'e', ',');
const numberText = fc.oneof(
  fc.array(chars, { maxLength: 24 }).map((a) => a.join('')),
  // the common shape, with integer and fraction parts of every length up to past 15 digits
  fc.tuple(fc.constantFrom('', '-', '+', ' '), fc.stringMatching(/^[0-9]{0,12}$/), fc.boolean(), fc.stringMatching(/^[0-9]{0,12}$/)).map(
    ([sign, int, dot, frac]) => `${sign}${int}${dot ? '.' : ''}${dot ? frac : ''}`,
  ),
);

describe('parseSimpleNumberBytes', () => {
  it('declines or agrees with the text rule, to the bit', () => {
    let parsed = 0;
    fc.assert(
      fc.property(numberText, (t) => {
        const b = Buffer.from(`x${t}y`, 'latin1');
        const fast = parseSimpleNumberBytes(b, 1, b.length - 1);
        if (Number.isNaN(fast)) return;
        parsed++;
        expect(Object.is(fast, parseNumberRange(t, 0, t.length))).toBe(true);
        expect(Object.is(fast, Number(t.trim()))).toBe(true);
      }),
      { numRuns: 5000 },
    );
    expect(parsed).toBeGreaterThan(1000);
  });

  it('writes its number to out[k] only when it parses (the hot paths\' form, no heap number a row)', () => {
    fc.assert(
      fc.property(numberText, fc.integer({ min: 0, max: 3 }), (t, k) => {
        const b = Buffer.from(t, 'latin1');
        const out = new Float64Array(4).fill(7);
        const ok = simpleNumberBytesInto(b, 0, b.length, out, k);
        const fast = parseSimpleNumberBytes(b, 0, b.length);
        expect(ok).toBe(!Number.isNaN(fast));
        expect(Array.from(out).map((v, j) => (j === k && ok ? Object.is(v, fast) : v === 7))).toEqual([true, true, true, true]);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the shapes of amounts exactly, and leaves 16+ digits to the text rule', () => {
    const fast = (t: string) => parseSimpleNumberBytes(Buffer.from(t), 0, t.length);
    expect(fast('23.45')).toBe(23.45);
    expect(fast(' -0.10\t')).toBe(-0.1);
    expect(Object.is(fast('-0'), -0)).toBe(true);
    expect(fast('999999999.999999')).toBe(999999999.999999);
    expect(fast('.5')).toBe(0.5);
    expect(fast('5.')).toBe(5);
    expect(fast('1234567890.12345')).toBe(1234567890.12345);
    expect(fast('1234567890123456')).toBeNaN(); // 16 digits: the text path decides
    expect(parseNumberRange('1234567890123456', 0, 16)).toBe(1234567890123456);
    expect(fast('')).toBeNaN();
    expect(fast('-')).toBeNaN();
    expect(fast('1.2.3')).toBeNaN();
  });
});
