import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import fc from 'fast-check';
import { isDateTime } from '../../../src/core/date-time-format.js';

const general = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;

/** Strings near the common shape: each character from a small alphabet that includes every edge. */
const nearShape = fc
  .array(fc.constantFrom(...'0123456789-:.TtZz +\u00a0'.split('')), { minLength: 18, maxLength: 32 })
  .map((chars) => chars.join(''));

/** Well-formed values with every field drawn across and beyond its range. */
const formed = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 62 }),
    fraction: fc.option(fc.stringMatching(/^[0-9]{1,12}$/), { nil: undefined }),
    zone: fc.constantFrom('Z', 'z', '+00:00', '-01:30', '+0530', ''),
    separator: fc.constantFrom('T', 't', ' '),
  })
  .map((f) => {
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    const fraction = f.fraction === undefined ? '' : `.${f.fraction}`;
    return `${p(f.year, 4)}-${p(f.month)}-${p(f.day)}${f.separator}${p(f.hour)}:${p(f.minute)}:${p(f.second)}${fraction}${f.zone}`;
  });

describe('isDateTime', () => {
  it('answers as ajv-formats does, for well-formed values of every field', () => {
    fc.assert(
      fc.property(formed, (value) => assert.equal(isDateTime(value), general(value), value)),
      { numRuns: 20_000 },
    );
  });

  it('answers as ajv-formats does, for strings near the shape and any string', () => {
    fc.assert(
      fc.property(fc.oneof(nearShape, fc.string(), fc.string({ unit: 'binary' })), (value) =>
        assert.equal(isDateTime(value), general(value), JSON.stringify(value)),
      ),
      { numRuns: 20_000 },
    );
  });

  it('knows the calendar and the leap second', () => {
    const cases: Array<[string, boolean]> = [
      ['2026-11-24T09:15:00Z', true],
      ['2026-11-24T09:15:00.123456789Z', true],
      ['2024-02-29T00:00:00Z', true],
      ['2023-02-29T00:00:00Z', false],
      ['2000-02-29T00:00:00Z', true],
      ['1900-02-29T00:00:00Z', false],
      ['2026-04-31T00:00:00Z', false],
      ['2016-12-31T23:59:60Z', true],
      ['2016-12-31T22:59:60Z', false],
      ['2026-11-24T24:00:00Z', false],
      ['2026-11-24T09:15:00', false],
    ];
    for (const [value, valid] of cases) {
      assert.equal(isDateTime(value), valid, value);
      assert.equal(general(value), valid, `ajv-formats agrees on ${value}`);
    }
  });
});
