/**
 * Generated Action API answers. Each request the test's API receives takes the next `AnswerSpec` of
 * the run (then, once they are used up, the honest answer, so that retries end): the honest
 * `formatversion=2` answer for the ids asked, or that answer with a hostile value at any path (the
 * contract quoted in src/mediawiki/revisions.ts, level by level), or bodies, statuses, headers,
 * encodings and connections that are wrong in the ways listed below.
 */
import fc from 'fast-check';
import type { Behaviour, IncomingApiRequest, StoredRevision } from '../helpers/misbehaving-api.js';
import {
  BAD_REVIDS_SHAPES,
  encoded,
  ENCODING_MODES,
  firstSlot,
  honestAnswer,
  mutateAt,
  REVID_MODES,
  SLOT_MODES,
  withBadRevIds,
  withRevIds,
  withSlots,
  type BadRevIdsShape,
  type EncodingMode,
  type RevIdMode,
  type SlotMode,
} from './answer-shapes.js';
import {
  deepValue,
  hostile,
  hostileBytes,
  hostileValue,
  hugeString,
  manyKeys,
  SPECIAL_KEYS,
  type Hostile,
  type HostileBytes,
} from './hostile-values.js';
import { MALFORMED_HTTP, malformedHttp, type MalformedHttp } from './malformed-http.js';

export type AnswerSpec =
  | { op: 'honest'; maxRevisions: number | undefined }
  | { op: 'replace'; path: number; value: Hostile }
  | { op: 'remove'; path: number }
  | { op: 'insert'; path: number; key: string; value: Hostile }
  | { op: 'body'; body: HostileBytes }
  | { op: 'wrap'; prefix: string; suffix: string }
  | { op: 'status'; status: number; retryAfter: string | undefined; location: boolean }
  | { op: 'apiError'; code: string; info: Hostile; retryAfter: string | undefined }
  | { op: 'badrevids'; shape: BadRevIdsShape }
  | { op: 'continue'; value: Hostile; keepPages: boolean }
  | { op: 'revids'; mode: RevIdMode }
  | { op: 'slots'; mode: SlotMode }
  | { op: 'content'; text: Hostile }
  | { op: 'encoding'; mode: EncodingMode }
  | { op: 'transport'; mode: 'reset' | 'hang' | 'slow-body' }
  /** Bytes on the socket instead of a well-formed HTTP response. */
  | { op: 'http'; mode: MalformedHttp }
  /** A streamed body of this many bytes, with or without its content-length. */
  | { op: 'huge'; bytes: number; declareLength: boolean };

export interface AnswerPlan {
  answers: AnswerSpec[];
  /** How the honest answer shows a deleted page's revision. */
  deletedPageShape: 'badrevids' | 'missing-page';
}

/** Header values a server may send as `Retry-After` (printable: Node refuses to send others). */
const RETRY_AFTER = [
  '',
  '0',
  '-1',
  '1.5',
  '1e9',
  '99999999999999999999',
  'NaN',
  'Infinity',
  'soon',
  'Wed, 21 Oct 2015 07:28:00 GMT',
  'Fri, 31 Dec 9999 23:59:59 GMT',
  '1, 2',
];

const STATUSES = [
  201, 204, 206, 301, 302, 304, 307, 400, 401, 403, 404, 408, 413, 418, 429, 500, 502, 503, 504, 520, 599,
];

const API_CODES = [
  '"maxlag"',
  '"readonly"',
  '"badrevids"',
  '"toomanyvalues"',
  '"internal_api_error_DBQueryError"',
  '"__proto__"',
  '"constructor"',
  '"toString"',
  '""',
  '123',
  'null',
  '{}',
  '["maxlag"]',
];

const BODIES = [
  '',
  ' ',
  'not json',
  '<html><body>502 Bad Gateway</body></html>',
  '{',
  'null',
  '[]',
  '"x"',
  '1e999',
  '{}',
  '{"batchcomplete":true}',
  '{"query":null}',
  '{"query":[]}',
  '{"query":{"pages":{}}}',
  '{"query":{"pages":[null]}}',
  '{"query":{"pages":[{"revisions":{}}]}}',
  '{"error":null}',
  '{"error":"maxlag"}',
  '{"error":{"code":"maxlag"}}',
  '{"error":{"info":"no code"}}',
  '{"warnings":{"main":{"warnings":"x"}}}',
  '\u0000',
  '\ufeff{}',
];

const retryAfter = fc.option(fc.constantFrom(...RETRY_AFTER), { nil: undefined });

/** A body that is not valid UTF-8 or not JSON, as bytes. */
const hostileBody: fc.Arbitrary<HostileBytes> = fc.oneof(
  fc.constantFrom(...BODIES).map((s) => hostileBytes(Buffer.from(s), JSON.stringify(s))),
  fc.uint8Array({ maxLength: 300 }).map((b) => hostileBytes(b)),
  fc.oneof(deepValue, hugeString, manyKeys).map((h) => hostileBytes(Buffer.from(h.text), h.label)),
  fc.constant(hostileBytes(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))),
);

export function answerSpec(maxResponseBytes: number): fc.Arbitrary<AnswerSpec> {
  return fc.oneof(
    {
      arbitrary: fc.record({
        op: fc.constant('honest' as const),
        maxRevisions: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      }),
      weight: 3,
    },
    {
      arbitrary: fc.record({ op: fc.constant('replace' as const), path: fc.nat(), value: hostileValue }),
      weight: 5,
    },
    { arbitrary: fc.record({ op: fc.constant('remove' as const), path: fc.nat() }), weight: 2 },
    {
      arbitrary: fc.record({
        op: fc.constant('insert' as const),
        path: fc.nat(),
        key: fc.constantFrom(
          'x',
          'continue',
          'error',
          'badrevids',
          'texthidden',
          'content',
          'revid',
          ...SPECIAL_KEYS,
        ),
        value: hostileValue,
      }),
      weight: 2,
    },
    { arbitrary: fc.record({ op: fc.constant('body' as const), body: hostileBody }), weight: 2 },
    {
      arbitrary: fc.record({
        op: fc.constant('wrap' as const),
        prefix: fc.constantFrom('', '\ufeff', ' ', '\n', ")]}'\n"),
        suffix: fc.constantFrom('', 'x', '}', '\u0000', '{"more":1}'),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('status' as const),
        status: fc.constantFrom(...STATUSES),
        retryAfter,
        location: fc.boolean(),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('apiError' as const),
        code: fc.constantFrom(...API_CODES),
        info: hostileValue,
        retryAfter,
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('badrevids' as const),
        shape: fc.constantFrom(...BAD_REVIDS_SHAPES),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('continue' as const),
        value: fc.oneof(
          fc
            .constantFrom(
              '{"rvcontinue":"0","continue":"||"}',
              '{"rvcontinue":0}',
              '{"rvcontinue":{}}',
              '{"rvcontinue":null}',
              '[]',
              '"||"',
              '{"action":"edit","continue":"||"}',
              '{"revids":"1|2|3","continue":"||"}',
              '{"format":"php","formatversion":"1"}',
              '{"__proto__":{"rvcontinue":"1"}}',
            )
            .map((t) => hostile(t, t)),
          hostileValue,
        ),
        keepPages: fc.boolean(),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({ op: fc.constant('revids' as const), mode: fc.constantFrom(...REVID_MODES) }),
      weight: 2,
    },
    {
      arbitrary: fc.record({ op: fc.constant('slots' as const), mode: fc.constantFrom(...SLOT_MODES) }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('content' as const),
        text: fc
          .record({
            length: fc.oneof(
              fc.integer({ min: 1, max: 10_000 }),
              fc.integer({ min: Math.floor(maxResponseBytes / 2), max: Math.floor(maxResponseBytes * 1.5) }),
            ),
            char: fc.constantFrom('a', 'é', '\u0000', '"', '\ud800', '😀', '\u2028'),
          })
          .map(({ length, char }) => hostile(char.repeat(length), `${JSON.stringify(char)} x ${length}`)),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('encoding' as const),
        mode: fc.constantFrom(...ENCODING_MODES),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('transport' as const),
        mode: fc.constantFrom('reset' as const, 'hang' as const, 'slow-body' as const),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({ op: fc.constant('http' as const), mode: fc.constantFrom(...MALFORMED_HTTP) }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('huge' as const),
        bytes: fc.integer({ min: Math.floor(maxResponseBytes / 2), max: 4 * maxResponseBytes }),
        declareLength: fc.boolean(),
      }),
      weight: 1,
    },
  );
}

export function answerPlan(maxResponseBytes: number, maxAnswers: number): fc.Arbitrary<AnswerPlan> {
  return fc.record({
    answers: fc.array(answerSpec(maxResponseBytes), { maxLength: maxAnswers }),
    deletedPageShape: fc.constantFrom('badrevids' as const, 'missing-page' as const),
  });
}

/**
 * The test API's fallback for a run: each request takes the next spec. `origin` is the API's own
 * origin, where redirects point (a client that followed one would be seen asking there).
 */
export function answering(plan: AnswerPlan, store: readonly StoredRevision[], origin: string) {
  const queue = [...plan.answers];
  const byId = new Map(store.map((r) => [r.revId, r]));
  return (request: IncomingApiRequest): Behaviour => {
    const spec = queue.shift() ?? { op: 'honest', maxRevisions: undefined };
    return behaviourFor(spec, request, byId, plan.deletedPageShape, origin);
  };
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function behaviourFor(
  spec: AnswerSpec,
  request: IncomingApiRequest,
  store: ReadonlyMap<number, StoredRevision>,
  deletedPageShape: AnswerPlan['deletedPageShape'],
  origin: string,
): Behaviour {
  const honest = () => honestAnswer(request, store, deletedPageShape, undefined);
  const raw = (body: string | Buffer, headers: Record<string, string> = {}, status = 200): Behaviour => ({
    kind: 'raw',
    body,
    status,
    headers: { ...JSON_HEADERS, ...headers },
  });
  switch (spec.op) {
    case 'honest':
      return raw(JSON.stringify(honestAnswer(request, store, deletedPageShape, spec.maxRevisions)));
    case 'replace':
    case 'remove':
    case 'insert':
      return raw(mutateAt(honest(), spec));
    case 'body':
      return raw(Buffer.from(spec.body.bytes));
    case 'wrap':
      return raw(spec.prefix + JSON.stringify(honest()) + spec.suffix);
    case 'status':
      return {
        kind: 'status',
        status: spec.status,
        headers: {
          ...(spec.retryAfter !== undefined ? { 'retry-after': spec.retryAfter } : {}),
          ...(spec.location
            ? { location: `${origin}/redirected/w/api.php?${request.query.toString()}` }
            : {}),
        },
        body: JSON.stringify(honest()),
      };
    case 'apiError':
      return raw(`{"error":{"code":${spec.code},"info":${spec.info.text}}}`, {
        ...(spec.retryAfter !== undefined ? { 'retry-after': spec.retryAfter } : {}),
        'mediawiki-api-error': 'x',
      });
    case 'badrevids':
      return raw(withBadRevIds(honest(), request.revIds, spec.shape));
    case 'continue': {
      const answer = honest();
      const query = answer.query as Record<string, unknown>;
      if (!spec.keepPages) delete query.pages;
      delete answer.batchcomplete;
      return raw(
        JSON.stringify({ ...answer, continue: '@@continue@@' }).replace(
          '"@@continue@@"',
          () => spec.value.text,
        ),
      );
    }
    case 'revids':
      return raw(JSON.stringify(withRevIds(honest(), spec.mode)));
    case 'slots':
      return raw(withSlots(honest(), spec.mode));
    case 'content': {
      const answer = honest();
      const slot = firstSlot(answer);
      if (slot) slot.content = spec.text.text;
      return raw(JSON.stringify(answer));
    }
    case 'encoding':
      return encoded(JSON.stringify(honest()), spec.mode, raw);
    case 'transport':
      return { kind: spec.mode } as Behaviour;
    case 'http':
      return { kind: 'raw-bytes', bytes: malformedHttp(spec.mode, JSON.stringify(honest())) };
    case 'huge':
      return { kind: 'huge', bytes: spec.bytes, declareLength: spec.declareLength };
  }
}
