/**
 * RowWindow: which recent-changes rows are done. A row seen again (the overlap read each poll) is
 * not new; a row that appears behind the newest one but above the floor is; the floor follows the
 * newest row at the overlap's distance, or a row given up when too many are remembered; and the
 * window of a committed prefix of the rows never claims a row emitted after that prefix, so a
 * restart from it neither skips nor repeats.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { wikiSeconds } from '../../../src/connectors/recentchanges/answers.js';
import { parsePosition, RowWindow, type RowKey } from '../../../src/connectors/recentchanges/window.js';

const T0 = wikiSeconds('2026-11-29T16:00:00Z')!;
const key = (second: number, rcid: number): RowKey => ({ ts: T0 + second, rcid });

describe('RowWindow', () => {
  it('recognises rows it emitted, and a late row behind the newest one as new', () => {
    const window = new RowWindow(key(0, 0), { overlapSeconds: 60, maxRows: 100 });
    window.add(key(10, 1));
    window.add(key(12, 3));
    assert.equal(window.isNew(key(10, 1)), false);
    assert.equal(window.isNew(key(12, 3)), false);
    // Written after its transaction: rcid 2, with the time of its action, behind rcid 3.
    assert.equal(window.isNew(key(11, 2)), true);
    window.add(key(11, 2));
    assert.equal(window.isNew(key(11, 2)), false);
    assert.deepEqual(window.newest, key(12, 3));
    assert.equal(window.startSeconds, T0, 'the overlap still reaches back to the start');
  });

  it('moves the floor to the overlap behind the newest row, forgetting what is below it', () => {
    const window = new RowWindow(key(0, 0), { overlapSeconds: 60, maxRows: 100 });
    window.add(key(10, 1));
    window.add(key(100, 2));
    assert.deepEqual(window.floor, key(40, 0));
    assert.equal(window.size, 1, 'rcid 1 is below the floor now');
    assert.equal(window.isNew(key(10, 1)), false, 'below the floor is done');
    assert.equal(window.isNew(key(39, 7)), false, 'a row later than the overlap is missed');
    assert.equal(window.isNew(key(40, 7)), true, 'within the overlap it is caught');
    assert.equal(window.startSeconds, T0 + 40);
  });

  it('gives up the oldest rows beyond maxRows, raising the floor to them', () => {
    const window = new RowWindow(key(0, 0), { overlapSeconds: 3600, maxRows: 3 });
    for (const rcid of [1, 2, 3, 4, 5]) window.add(key(rcid, rcid));
    assert.equal(window.size, 3);
    assert.deepEqual(window.floor, key(2, 2));
    assert.equal(window.isNew(key(2, 2)), false);
    assert.equal(window.isNew(key(3, 3)), false);
    assert.equal(window.isNew(key(2, 9)), true, 'above the floor (same second, higher rcid) and unseen');
  });

  it('survives its position document unchanged, partial row included', () => {
    const window = new RowWindow(key(0, 0), { overlapSeconds: 60, maxRows: 100 });
    window.add(key(5, 4));
    window.add(key(5, 2));
    window.partial = { rcid: 9, lastIndex: 0 };
    const position = window.toPosition('enwiki');
    assert.deepEqual(position, {
      wiki_id: 'enwiki',
      floor: { timestamp: '2026-11-29T16:00:00Z', rcid: 0 },
      seen: [
        ['2026-11-29T16:00:05Z', 2],
        ['2026-11-29T16:00:05Z', 4],
      ],
      partial: { rcid: 9, last_index: 0 },
    });
    const again = RowWindow.fromPosition(parsePosition(JSON.parse(JSON.stringify(position))), {
      overlapSeconds: 60,
      maxRows: 100,
    });
    assert.deepEqual(again.toPosition('enwiki'), position);
    // Adding the partial row completes it.
    again.add(key(6, 9));
    assert.equal(again.partial, undefined);
  });

  it('refuses a document that is not a position, naming what is wrong', () => {
    assert.throws(
      () => parsePosition({ wiki_id: 'x', floor: { timestamp: 'yesterday', rcid: 0 }, seen: [] }),
      /floor.timestamp/,
    );
    assert.throws(
      () =>
        parsePosition({
          wiki_id: 'x',
          floor: { timestamp: '2026-11-29T16:00:00Z', rcid: 0 },
          seen: [[1, 2]],
        }),
      /seen entry/,
    );
    assert.throws(() => parsePosition({ floor: {}, seen: [] }), /wiki_id/);
  });

  it('the window of any committed prefix claims no row emitted after it (restart neither skips nor repeats)', () => {
    // Rows arrive by time, some late (behind the newest), as polls of a live wiki see them; the
    // running window decides which to emit; a restart from the window of the first k emitted rows
    // must see every later-emitted row as new and every earlier one as done.
    const arrival = fc.array(
      fc.record({ gap: fc.integer({ min: 0, max: 30 }), late: fc.integer({ min: 0, max: 90 }) }),
      { minLength: 1, maxLength: 60 },
    );
    fc.assert(
      fc.property(
        arrival,
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 120 }),
        (rows, maxRows, overlap) => {
          const limits = { overlapSeconds: overlap, maxRows };
          const live = new RowWindow(key(0, 0), limits);
          const emitted: RowKey[] = [];
          let clock = 0;
          rows.forEach(({ gap, late }, i) => {
            clock += gap;
            const row = key(Math.max(0, clock - late), i + 1);
            if (live.isNew(row)) {
              emitted.push(row);
              live.add(row);
            }
          });
          for (let k = 0; k <= emitted.length; k++) {
            const committed = new RowWindow(key(0, 0), limits);
            for (const row of emitted.slice(0, k)) committed.add(row);
            const restarted = RowWindow.fromPosition(parsePosition(committed.toPosition('w')), limits);
            emitted.slice(0, k).forEach((row) => assert.equal(restarted.isNew(row), false, 'repeated'));
            emitted.slice(k).forEach((row) => assert.equal(restarted.isNew(row), true, 'skipped'));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
