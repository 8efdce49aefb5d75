import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SseParser, type SseEvent } from '../../../src/connectors/sse/parser.js';
import { RECORD_HEAD_BYTES } from '../../../src/core/record-head.js';

const KIB = 1024;
const MIB = 1024 * KIB;

interface Seen {
  type: string;
  data: string;
  id: string;
  oversizeBytes?: number;
}

function seen(events: readonly SseEvent[]): Seen[] {
  return events.map((e) => ({
    type: e.type,
    data: e.data.toString('utf8'),
    id: e.lastEventId,
    ...(e.oversizeBytes !== undefined && { oversizeBytes: e.oversizeBytes }),
  }));
}

/** The events of `bytes` fed as the given chunks. */
function parseChunks(chunks: readonly Buffer[], maxDataBytes = MIB): Seen[] {
  const parser = new SseParser({ maxDataBytes });
  const events = chunks.flatMap((c) => parser.push(c));
  parser.end();
  return seen(events);
}

function chunksOf(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

/**
 * The events of `input`, which must not depend on how it is cut: every chunk size from 1 byte,
 * and every cut into two pieces (so every CRLF is split once between its CR and its LF).
 */
function parse(input: string | Buffer, maxDataBytes = MIB): Seen[] {
  const bytes = Buffer.from(input);
  const whole = parseChunks([bytes], maxDataBytes);
  for (const size of [1, 2, 3, 5, 7, 13]) {
    assert.deepEqual(parseChunks(chunksOf(bytes, size), maxDataBytes), whole, `chunks of ${size} bytes`);
  }
  if (bytes.length <= 2000) {
    for (let cut = 1; cut < bytes.length; cut++) {
      const two = [bytes.subarray(0, cut), Buffer.alloc(0), bytes.subarray(cut)];
      assert.deepEqual(parseChunks(two, maxDataBytes), whole, `cut at byte ${cut}`);
    }
  }
  return whole;
}

const ID1 = '[{"topic":"eqiad.mediawiki.page_change.v1","partition":0,"timestamp":1764431234568}]';
const ID2 = '[{"topic":"eqiad.mediawiki.page_change.v1","partition":0,"timestamp":1764431234990}]';

describe('SseParser', () => {
  it("reads EventStreams' frames: the :ok comment, then event, id and data per event", () => {
    const stream =
      ':ok\n\n' +
      `event: message\nid: ${ID1}\ndata: {"meta":{"domain":"en.wikipedia.org"},"a":"é"}\n\n` +
      `event: message\nid: ${ID2}\ndata: {"b":2}\n\n`;
    assert.deepEqual(parse(stream), [
      { type: 'message', data: '{"meta":{"domain":"en.wikipedia.org"},"a":"é"}', id: ID1 },
      { type: 'message', data: '{"b":2}', id: ID2 },
    ]);
  });

  it('ends lines with LF, CRLF or CR, mixed, and a CRLF split between reads is one line ending', () => {
    const frames = (end: string) => `event: message${end}id: 1${end}data: a${end}${end}data: b${end}${end}`;
    const expected = [
      { type: 'message', data: 'a', id: '1' },
      { type: 'message', data: 'b', id: '1' },
    ];
    for (const end of ['\n', '\r\n', '\r'])
      assert.deepEqual(parse(frames(end)), expected, JSON.stringify(end));
    assert.deepEqual(parse('data: a\r\ndata: b\rdata: c\n\r\n'), [
      { type: 'message', data: 'a\nb\nc', id: '' },
    ]);
    // The CR ends one read and the LF starts the next: still one line ending, not a blank line
    // that would dispatch `a` alone.
    assert.deepEqual(parseChunks([Buffer.from('data: a\r'), Buffer.from('\ndata: b\r\n\r\n')]), [
      { type: 'message', data: 'a\nb', id: '' },
    ]);
    // Two CRs are two line endings: the second is a blank line.
    assert.deepEqual(parseChunks([Buffer.from('data: a\r'), Buffer.from('\rdata: b\n\n')]), [
      { type: 'message', data: 'a', id: '' },
      { type: 'message', data: 'b', id: '' },
    ]);
  });

  it('joins data lines with LF; one space after the colon is dropped, and only one', () => {
    assert.deepEqual(parse('data: {"a":\ndata:  1,\ndata:"b":2}\n\n'), [
      { type: 'message', data: '{"a":\n 1,\n"b":2}', id: '' },
    ]);
    // A bare `data` line is an empty data line; a frame of one empty data line is an empty event.
    assert.deepEqual(parse('data\n\ndata: a\ndata\n\ndata:\ndata:\n\n'), [
      { type: 'message', data: '', id: '' },
      { type: 'message', data: 'a\n', id: '' },
      { type: 'message', data: '\n', id: '' },
    ]);
    // A colon in the value is part of it.
    assert.deepEqual(parse('data: a: b:c\n\n'), [{ type: 'message', data: 'a: b:c', id: '' }]);
  });

  it('ignores comments, retry and unknown fields (names are exact and case-sensitive)', () => {
    const stream =
      ':ok\n\n: a comment\n:\nretry: 10\nfoo: bar\nData: no\ndatas: no\neventx: no\nidx: no\n' +
      'data: yes\n: between data lines\ndata: too\n\n' +
      ':only a comment\n\n\n\n';
    assert.deepEqual(parse(stream), [{ type: 'message', data: 'yes\ntoo', id: '' }]);
  });

  it('takes the type from event (message when absent or empty), for one frame only', () => {
    assert.deepEqual(
      parse(
        `event: error\nid: ${ID1}\ndata: {"message":"gone"}\n\nevent:\ndata: a\n\ndata: b\n\nevent: x\n\n`,
      ),
      [
        { type: 'error', data: '{"message":"gone"}', id: ID1 },
        { type: 'message', data: 'a', id: ID1 },
        { type: 'message', data: 'b', id: ID1 },
      ],
    );
  });

  it('keeps the last event ID across frames; empty resets it; with NUL or too long it is ignored', () => {
    const parser = new SseParser({ maxDataBytes: MIB, maxIdBytes: 16 });
    const events = parser.push(
      Buffer.from(
        'id: 1\ndata: a\n\n' +
          'data: b\n\n' +
          // An id-only frame dispatches nothing but moves the id.
          'id: 2\n\n' +
          'data: c\n\n' +
          'id: 3\u0000\ndata: d\n\n' +
          `id: ${'9'.repeat(17)}\ndata: e\n\n` +
          'id\ndata: f\n\n',
      ),
    );
    assert.deepEqual(seen(events), [
      { type: 'message', data: 'a', id: '1' },
      { type: 'message', data: 'b', id: '1' },
      { type: 'message', data: 'c', id: '2' },
      { type: 'message', data: 'd', id: '2' },
      { type: 'message', data: 'e', id: '2' },
      { type: 'message', data: 'f', id: '' },
    ]);
    assert.equal(parser.ignoredIds, 2);
  });

  it('discards a frame the stream ends inside of, and starts clean after end()', () => {
    const parser = new SseParser({ maxDataBytes: MIB });
    assert.deepEqual(seen(parser.push(Buffer.from('data: a\n\ndata: cut off'))), [
      { type: 'message', data: 'a', id: '' },
    ]);
    parser.end();
    assert.deepEqual(seen(parser.push(Buffer.from('\ndata: b\n\n'))), [
      { type: 'message', data: 'b', id: '' },
    ]);
    assert.deepEqual(parse('event: message\ndata: never finished\n'), []);
  });

  it('drops a UTF-8 byte order mark at the very start only, even cut across reads', () => {
    const bom = '\u{feff}';
    assert.deepEqual(parse(`${bom}data: a\n\ndata: ${bom}b\n\n`), [
      { type: 'message', data: 'a', id: '' },
      { type: 'message', data: `${bom}b`, id: '' },
    ]);
    // Not a BOM: the held-back bytes belong to the first line after all (here they make its field
    // name unknown, so the frame has no data).
    assert.deepEqual(parse(Buffer.concat([Buffer.from([0xef, 0xbb]), Buffer.from('data: a\n\n')])), []);
    assert.deepEqual(parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbe]), Buffer.from('data: a\n\n')])), []);
  });

  it('passes data bytes through as they are (invalid UTF-8 is for the job to report)', () => {
    const bytes = Buffer.concat([
      Buffer.from('data: '),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('\n\n'),
    ]);
    const parser = new SseParser({ maxDataBytes: MIB });
    const [event] = parser.push(bytes);
    assert.deepEqual([...event!.data], [0xff, 0xfe, 0xc3]);
  });

  it('yields data over the limit as its head with the full length, and the frames after it whole', () => {
    const limit = 100 * KIB;
    const big = 'x'.repeat(limit - 3);
    // Two lines and their separator: limit + 1 bytes.
    const over = `data: ${big}\ndata: abc\n\n`;
    const exact = `data: ${big}\ndata: ab\n\n`;
    const events = parse(`${over}${exact}data: small\n\n`, limit);
    assert.equal(events.length, 3);
    assert.equal(events[0]!.oversizeBytes, limit + 1);
    assert.equal(events[0]!.data, 'x'.repeat(RECORD_HEAD_BYTES));
    assert.equal(events[1]!.oversizeBytes, undefined, 'exactly at the limit is whole');
    assert.equal(events[1]!.data, `${big}\nab`);
    assert.deepEqual(events[2], { type: 'message', data: 'small', id: '' });
    // A limit below the head's size: the head is still the first RECORD_HEAD_BYTES, however cut.
    const long = 'y'.repeat(100 * KIB);
    assert.deepEqual(parse(`data: ${long}\n\n`, 100), [
      { type: 'message', data: long.slice(0, RECORD_HEAD_BYTES), id: '', oversizeBytes: 100 * KIB },
    ]);
  });

  it('holds bounded memory whatever a hostile server sends: huge comments, unknown fields, ids, data', () => {
    const limit = MIB;
    const parser = new SseParser({ maxDataBytes: limit });
    const chunk = Buffer.alloc(64 * KIB, 0x61);
    let most = 0;
    const events: SseEvent[] = [];
    const feed = (bytes: Buffer) => {
      events.push(...parser.push(bytes));
      most = Math.max(most, parser.bufferedBytes);
    };
    for (const opening of [':', 'unknown: ', 'id: ', 'event: ', 'data: ']) {
      feed(Buffer.from(opening));
      // 32 MiB on one line.
      for (let i = 0; i < 512; i++) feed(chunk);
      feed(Buffer.from('\n'));
    }
    feed(Buffer.from('\n'));
    assert.ok(most <= limit + 64 * KIB, `held at most ${most} bytes`);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.oversizeBytes, 32 * MIB);
    assert.equal(events[0]!.data.length, RECORD_HEAD_BYTES);
    assert.equal(events[0]!.lastEventId, '', 'the over-long id was ignored');
    assert.equal(events[0]!.type.length, 256, 'the over-long type was cut');
    assert.equal(parser.bufferedBytes, 0);
  });

  it('data never keeps a network chunk alive: it is a copy', () => {
    const chunk = Buffer.from('data: abc\n\n');
    const [event] = new SseParser({ maxDataBytes: MIB }).push(chunk);
    chunk.fill(0x7a);
    assert.equal(event!.data.toString(), 'abc');
  });

  it('property: any frames, line endings and cuts give the events the standard defines', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\r\n\u0000]/g, ''));
    const line = fc.oneof(
      fc.record({ kind: fc.constant('data' as const), value: text }),
      fc.record({ kind: fc.constant('id' as const), value: text }),
      fc.record({ kind: fc.constant('event' as const), value: fc.constantFrom('', 'message', 'error', 'x') }),
      fc.record({ kind: fc.constant('comment' as const), value: text }),
      fc.record({ kind: fc.constant('other' as const), value: text }),
    );
    const frames = fc.array(fc.array(line, { maxLength: 5 }), { maxLength: 6 });
    const ending = fc.constantFrom('\n', '\r\n', '\r');
    fc.assert(
      fc.property(
        frames,
        fc.array(ending, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(40), { maxLength: 8 }),
        (fs, ends, cuts) => {
          let text = '';
          let n = 0;
          let previous = '';
          // A CR then an LF would be one line ending, not two.
          const end = () => {
            const next = ends[n++ % ends.length]!;
            previous = previous === '\r' && next.startsWith('\n') ? '\r' : next;
            return previous;
          };
          // The model: what the standard says the frames dispatch.
          const expected: Seen[] = [];
          let id = '';
          for (const f of fs) {
            let data: string[] = [];
            let type = '';
            for (const l of f) {
              if (l.kind === 'comment') text += `:${l.value}${end()}`;
              else if (l.kind === 'other') text += `retry:${l.value}${end()}`;
              else {
                // Values with and without a space after the colon (one space is dropped).
                const spaced = l.value.length % 2 === 0 || l.value.startsWith(' ');
                text += spaced ? `${l.kind}: ${l.value}${end()}` : `${l.kind}:${l.value}${end()}`;
                if (l.kind === 'data') data.push(l.value);
                else if (l.kind === 'id') id = l.value;
                else type = l.value;
              }
            }
            text += end();
            if (data.length > 0)
              expected.push({ type: type === '' ? 'message' : type, data: data.join('\n'), id });
            data = [];
          }
          const bytes = Buffer.from(text);
          const chunks: Buffer[] = [];
          let at = 0;
          for (const cut of cuts) {
            chunks.push(bytes.subarray(at, Math.min(bytes.length, at + cut)));
            at = Math.min(bytes.length, at + cut);
          }
          chunks.push(bytes.subarray(at));
          assert.deepEqual(parseChunks(chunks), expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
