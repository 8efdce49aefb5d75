/**
 * What a PromQL expression refers to, for checking dashboards and alert rules against the metric
 * catalogue: its series selectors (name and label matchers) and the label names of its grouping
 * clauses (`by`, `without`, `on`, `ignoring`, `group_left`, `group_right`).
 *
 * A tokenizer, not a parser: it knows which words are keywords, aggregations and functions, and
 * that `[...]` holds a range (possibly a Grafana variable such as `$__rate_interval`), so every other
 * bare word is a metric name. Unknown functions and characters are errors, so that a typo does not
 * pass as "nothing to check".
 */

export interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

export interface Selector {
  /** The metric name (from `__name__="…"` when the selector has no bare name). */
  readonly name: string;
  readonly matchers: readonly Matcher[];
}

export interface References {
  readonly selectors: readonly Selector[];
  readonly groupingLabels: readonly string[];
}

type TokenKind = 'ident' | 'number' | 'string' | 'range' | 'var' | 'punct' | 'op';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly at: number;
}

const AGGREGATIONS = new Set([
  'sum',
  'avg',
  'count',
  'min',
  'max',
  'group',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
]);

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

/** PromQL's functions (Prometheus 2.42). */
const FUNCTIONS = new Set([
  'abs',
  'absent',
  'absent_over_time',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'avg_over_time',
  'ceil',
  'changes',
  'clamp',
  'clamp_max',
  'clamp_min',
  'cos',
  'cosh',
  'count_over_time',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'days_in_month',
  'deg',
  'delta',
  'deriv',
  'end',
  'exp',
  'floor',
  'histogram_quantile',
  'holt_winters',
  'hour',
  'idelta',
  'increase',
  'irate',
  'label_join',
  'label_replace',
  'last_over_time',
  'ln',
  'log10',
  'log2',
  'max_over_time',
  'min_over_time',
  'minute',
  'month',
  'pi',
  'predict_linear',
  'present_over_time',
  'quantile_over_time',
  'rad',
  'rate',
  'resets',
  'round',
  'scalar',
  'sgn',
  'sin',
  'sinh',
  'sort',
  'sort_desc',
  'sqrt',
  'start',
  'stddev_over_time',
  'stdvar_over_time',
  'sum_over_time',
  'tan',
  'tanh',
  'time',
  'timestamp',
  'vector',
  'year',
]);

const MATCH_OPS = new Set(['=', '!=', '=~', '!~']);

function fail(expr: string, at: number, why: string): never {
  throw new Error(`${why} at ${at} in: ${expr}`);
}

/** Splits an expression into tokens; `[...]` (a range or subquery) is one token. */
export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const rest = () => expr.slice(i);
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i += 1;
      continue;
    }
    const at = i;
    if (c === '"' || c === "'" || c === '`') {
      let value = '';
      i += 1;
      while (i < expr.length && expr[i] !== c) {
        if (expr[i] === '\\' && c !== '`') i += 1;
        value += expr[i] ?? '';
        i += 1;
      }
      if (i >= expr.length) fail(expr, at, 'unterminated string');
      i += 1;
      tokens.push({ kind: 'string', text: value, at });
      continue;
    }
    if (c === '[') {
      const end = expr.indexOf(']', i);
      if (end < 0) fail(expr, at, 'unterminated range');
      tokens.push({ kind: 'range', text: expr.slice(i + 1, end), at });
      i = end + 1;
      continue;
    }
    const variable = /^\$(\{[^}]*\}|\w+)/.exec(rest());
    if (variable) {
      tokens.push({ kind: 'var', text: variable[0], at });
      i += variable[0].length;
      continue;
    }
    const ident = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rest());
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], at });
      i += ident[0].length;
      continue;
    }
    // Numbers and durations (`0.99`, `1e-3`, `0x1f`, `6d23h`).
    const number = /^(0x[0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?[A-Za-z0-9]*)/.exec(rest());
    if (number) {
      tokens.push({ kind: 'number', text: number[0], at });
      i += number[0].length;
      continue;
    }
    if ('(){},@'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, at });
      i += 1;
      continue;
    }
    const op = /^(==|!=|<=|>=|=~|!~|[=<>+\-*/%^])/.exec(rest());
    if (op) {
      tokens.push({ kind: 'op', text: op[0], at });
      i += op[0].length;
      continue;
    }
    fail(expr, at, `unexpected character ${JSON.stringify(c)}`);
  }
  return tokens;
}

/** The selectors and grouping labels of one PromQL expression. */
export function references(expr: string): References {
  const tokens = tokenize(expr);
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  let i = 0;
  const peek = (offset = 0) => tokens[i + offset];
  const isPunct = (t: Token | undefined, text: string) => t?.kind === 'punct' && t.text === text;

  const readMatchers = (): Matcher[] => {
    // At '{'.
    const open = tokens[i]!;
    i += 1;
    const matchers: Matcher[] = [];
    while (!isPunct(peek(), '}')) {
      const label = peek();
      const op = peek(1);
      const value = peek(2);
      if (
        label?.kind !== 'ident' ||
        op?.kind !== 'op' ||
        !MATCH_OPS.has(op.text) ||
        value?.kind !== 'string'
      ) {
        fail(expr, label?.at ?? open.at, 'expected a label matcher');
      }
      matchers.push({ label: label.text, op: op.text as Matcher['op'], value: value.text });
      i += 3;
      if (isPunct(peek(), ',')) i += 1;
      else if (!isPunct(peek(), '}')) fail(expr, peek()?.at ?? open.at, 'expected , or }');
    }
    i += 1;
    return matchers;
  };

  const readLabelList = (): void => {
    // At '('.
    const open = tokens[i]!;
    i += 1;
    while (!isPunct(peek(), ')')) {
      const label = peek();
      if (label?.kind !== 'ident') fail(expr, label?.at ?? open.at, 'expected a label name');
      groupingLabels.push(label.text);
      i += 1;
      if (isPunct(peek(), ',')) i += 1;
    }
    i += 1;
  };

  while (i < tokens.length) {
    const token = tokens[i]!;
    if (token.kind === 'punct' && token.text === '{') {
      const matchers = readMatchers();
      const name = matchers.find((m) => m.label === '__name__' && m.op === '=');
      if (!name) fail(expr, token.at, 'a selector without a metric name');
      selectors.push({ name: name.value, matchers: matchers.filter((m) => m !== name) });
      continue;
    }
    if (token.kind !== 'ident') {
      i += 1;
      continue;
    }
    const word = token.text.toLowerCase();
    i += 1;
    if (GROUPING.has(word)) {
      if (isPunct(peek(), '(')) readLabelList();
      continue;
    }
    if (KEYWORDS.has(word) || AGGREGATIONS.has(word)) continue;
    if (isPunct(peek(), '(')) {
      if (!FUNCTIONS.has(token.text)) fail(expr, token.at, `unknown function ${token.text}`);
      continue;
    }
    selectors.push({ name: token.text, matchers: isPunct(peek(), '{') ? readMatchers() : [] });
  }
  return { selectors, groupingLabels };
}
