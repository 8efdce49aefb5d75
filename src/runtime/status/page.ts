import { createHash } from 'node:crypto';

/*
 * The status page: one self-contained document (no external script, style, font or image) that
 * fetches `status.json` every few seconds and updates itself. Everything it shows may come from
 * untrusted input (error messages carry parts of events, partitions and config values come from
 * outside), so the script builds elements and sets `textContent` only: it never parses data as HTML.
 * The Content-Security-Policy allows exactly this script and style (by their hashes) and requests to
 * the page's own origin; even an injected element could load or run nothing.
 */

const STYLE = `
:root { --fg: #1d232a; --muted: #65707c; --line: #dde2e7; --bg: #f5f7f9; --card: #fff;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: #24292f; color: #f0f3f6; padding: 10px 16px; display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: baseline; }
header h1 { font-size: 17px; margin: 0; font-weight: 600; }
header .meta { color: #c5ccd3; }
header .meta b { color: #f0f3f6; font-weight: 500; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.badge.ready { background: var(--ok); color: #fff; }
.badge.not-ready { background: var(--warn); color: #fff; }
.badge.stopping { background: var(--bad); color: #fff; }
#conn { margin-left: auto; font-size: 12px; }
#conn.stale { color: #ffb4a8; font-weight: 600; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 540px), 1fr)); gap: 12px; padding: 12px 16px 24px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px 10px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 13px; margin: 0 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
h3 { font-size: 12px; margin: 10px 0 4px; color: var(--muted); font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 2px 8px 2px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; font-family: var(--mono); white-space: nowrap; }
td.mono { font-family: var(--mono); overflow-wrap: anywhere; }
td.time, td.code { font-family: var(--mono); white-space: nowrap; }
th { white-space: nowrap; }
td.msg { font-family: var(--mono); white-space: pre-wrap; word-break: break-word; }
tr.total td { font-weight: 600; }
td.empty { color: var(--muted); font-style: italic; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; font-family: var(--mono); overflow-wrap: anywhere; }
.note { color: var(--muted); font-size: 12px; }
pre { margin: 0; font: 12px/1.4 var(--mono); white-space: pre-wrap; word-break: break-word; max-height: 420px; overflow: auto; }
`;

const SCRIPT = String.raw`
'use strict';
(() => {
  const REFRESH_MS = 3000;
  const OUTCOMES = ['enriched', 'passed', 'dropped', 'failed'];
  const byId = (id) => document.getElementById(id);
  let lastGood = null;
  let failures = 0;

  const text = (id, value) => { byId(id).textContent = value; };
  const count = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'));
  const rate = (r) => (r === null || r === undefined ? '—' : (r < 10 ? r.toFixed(2) : r.toFixed(1)) + '/s');
  const seconds = (s) => (s === null || s === undefined ? '—' : (s < 10 ? s.toFixed(1) : Math.round(s).toString()) + ' s');
  function bytes(n) {
    if (n === null || n === undefined) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + units[i];
  }
  function duration(s) {
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    const pad = (x) => String(x).padStart(2, '0');
    if (d > 0) return d + 'd ' + pad(h) + 'h';
    if (h > 0) return h + 'h ' + pad(m) + 'm';
    if (m > 0) return m + 'm ' + pad(s % 60) + 's';
    return s + 's';
  }
  const clock = (iso) => (typeof iso === 'string' ? iso.slice(11, 19) + ' UTC' : '—');

  function cell(value, cls) {
    const td = document.createElement('td');
    td.textContent = value;
    if (cls) td.className = cls;
    return td;
  }
  function row(cells, key, cls) {
    const tr = document.createElement('tr');
    if (key !== undefined) tr.dataset.key = key;
    if (cls) tr.className = cls;
    for (const c of cells) tr.append(Array.isArray(c) ? cell(c[0], c[1]) : cell(c));
    return tr;
  }
  /** Replaces a table body's rows; an empty list shows one row saying so. */
  function fill(id, rows, emptyText) {
    const body = byId(id);
    if (rows.length > 0) { body.replaceChildren(...rows); return; }
    const columns = body.closest('table').querySelectorAll('thead th').length || 1;
    const td = cell(emptyText, 'empty');
    td.colSpan = columns;
    const tr = document.createElement('tr');
    tr.append(td);
    body.replaceChildren(tr);
  }
  function timeCell(iso) { const td = cell(clock(iso), 'time'); td.title = iso; return td; }
  function eventRow(entry, cells) {
    const tr = document.createElement('tr');
    tr.append(timeCell(entry.time), ...cells.map((c) => (Array.isArray(c) ? cell(c[0], c[1]) : cell(c))));
    return tr;
  }

  function render(s) {
    document.title = s.job.name + ' · status';
    text('job', s.job.name);
    text('version', 'v' + s.job.version);
    text('instance', s.job.instance === null ? '—' : s.job.instance);
    text('host', s.job.host);
    text('started', clock(s.job.startedAt));
    byId('started').title = s.job.startedAt;
    text('uptime', duration(s.job.uptimeSeconds));
    const badge = byId('ready');
    badge.textContent = s.readiness.ready ? 'ready' : s.readiness.alive ? 'not ready' : 'stopping';
    badge.className = 'badge ' + (s.readiness.ready ? 'ready' : s.readiness.alive ? 'not-ready' : 'stopping');
    text('reasons', s.readiness.reasons.join('; '));
    text('source', s.job.source);
    text('sink', s.job.sink);
    text('error-sink', s.job.errorSink);

    text('rate-window', s.rateWindowSeconds === null ? 'rates: after the first samples' : 'rates over the last ' + s.rateWindowSeconds + ' s');
    if (s.outcomes === null) {
      fill('outcomes', [], 'no outcomes counted yet');
    } else {
      const rows = s.outcomes.byOutcome.map((o) => row([o.outcome, [count(o.count), 'num'], [rate(o.perSecond), 'num']], o.outcome));
      const rates = s.outcomes.byOutcome.map((o) => o.perSecond);
      const totalRate = rates.includes(null) ? null : rates.reduce((a, b) => a + b, 0);
      rows.push(row(['total', [count(s.outcomes.total), 'num'], [rate(totalRate), 'num']], 'total', 'total'));
      fill('outcomes', rows, '');
    }
    const kinds = s.outcomes === null ? null : s.outcomes.byKind;
    const columns = kinds && kinds.length > 0 ? Object.keys(kinds[0].counts) : OUTCOMES;
    const head = document.createElement('tr');
    for (const name of ['page_change_kind', ...columns, 'total']) {
      const th = document.createElement('th');
      th.textContent = name;
      if (name !== 'page_change_kind') th.className = 'num';
      head.append(th);
    }
    byId('kinds-head').replaceChildren(head);
    fill(
      'kinds',
      (kinds || []).map((k) => row([k.kind, ...columns.map((c) => [count(k.counts[c]), 'num']), [count(k.total), 'num']], k.kind)),
      kinds === null ? 'not counted by page_change_kind' : 'none',
    );

    text('records-read', count(s.records.read));
    text('read-rate', rate(s.records.readPerSecond));
    text('in-flight-records', count(s.inFlight.records));
    text('in-flight-bytes', bytes(s.inFlight.bytes));
    text('in-flight-limit', count(s.inFlight.limit));
    fill(
      'partitions',
      (s.partitions || []).map((p) =>
        row(
          [[p.topic, 'mono'], [p.partition, 'num'], [count(p.committedOffset), 'num'], [count(p.highWatermark), 'num'], [count(p.lagRecords), 'num'], [seconds(p.lagSeconds), 'num']],
          p.topic + '/' + p.partition,
        ),
      ),
      'no partitions: not a Kafka source (see records read), or none assigned',
    );

    fill(
      'error-types',
      (s.errorEvents.byType || []).map((e) => row([[e.errorType, 'code'], [count(e.count), 'num']], e.errorType)),
      s.errorEvents.byType === null ? 'not counted yet' : 'none',
    );
    fill(
      'errors',
      s.errorEvents.latest.map((e) => eventRow(e, [[e.errorType, 'code'], e.pageChangeKind, [e.partition, 'mono'], [e.offset, 'num'], [e.message, 'msg']])),
      'none',
    );
    text(
      'rebalance-counts',
      s.rebalances.byKind === null ? '' : s.rebalances.byKind.map((r) => r.kind + ' ' + count(r.count)).join(' · '),
    );
    fill('rebalances', s.rebalances.latest.map((r) => eventRow(r, [r.kind, [r.partitions, 'msg']])), 'none');
    text(
      'restart-counts',
      s.restarts.byReason === null ? '' : s.restarts.byReason.map((r) => r.reason + ' ' + count(r.count)).join(' · '),
    );
    fill('restarts', s.restarts.latest.map((r) => eventRow(r, [r.part, [r.reason, 'msg']])), 'none');
    fill('waits', s.waits.latest.map((w) => eventRow(w, [w.part, [w.reason, 'msg']])), 'none');
    text('config', s.config);
  }

  function connection(ok, detail) {
    const conn = byId('conn');
    conn.className = ok ? 'live' : 'stale';
    conn.textContent = detail;
  }

  async function refresh() {
    try {
      const response = await fetch('status.json', { cache: 'no-store', headers: { accept: 'application/json' } });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const status = await response.json();
      render(status);
      lastGood = status.generatedAt;
      failures = 0;
      text('updated', clock(lastGood));
      connection(true, 'live · refreshes every ' + REFRESH_MS / 1000 + ' s');
    } catch (err) {
      failures++;
      connection(
        false,
        'update failed ' + (failures > 1 ? failures + ' times' : 'once') + ' (' + (err && err.message ? err.message : String(err)) + ')' +
          (lastGood === null ? '' : ': showing ' + clock(lastGood)),
      );
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }
  refresh();
})();
`;

const BODY = `<header>
<h1><span id="job">…</span> <span id="version" class="meta"></span></h1>
<span class="meta">instance <b id="instance">—</b> on <b id="host">—</b></span>
<span class="meta">started <b id="started">—</b> · up <b id="uptime">—</b></span>
<span><span id="ready" class="badge not-ready">loading</span> <span id="reasons" class="meta"></span></span>
<span id="conn">loading…</span>
<span class="meta">updated <b id="updated">—</b></span>
</header>
<main>
<section>
<h2>Outcomes</h2>
<table><thead><tr><th>outcome</th><th class="num">count</th><th class="num">rate</th></tr></thead><tbody id="outcomes"></tbody></table>
<p class="note" id="rate-window"></p>
<h3>By page change kind</h3>
<table><thead id="kinds-head"></thead><tbody id="kinds"></tbody></table>
</section>
<section>
<h2>Source and sinks</h2>
<dl class="kv">
<dt>source</dt><dd id="source"></dd><dt>sink</dt><dd id="sink"></dd><dt>error sink</dt><dd id="error-sink"></dd>
<dt>records read</dt><dd id="records-read">—</dd><dt>read rate</dt><dd id="read-rate">—</dd>
<dt>in flight</dt><dd id="in-flight-records">—</dd><dt>window</dt><dd id="in-flight-limit">—</dd><dt>in-flight bytes</dt><dd id="in-flight-bytes">—</dd>
</dl>
<h3>Partitions</h3>
<table><thead><tr><th>topic</th><th class="num">partition</th><th class="num">committed</th><th class="num">high watermark</th><th class="num">lag</th><th class="num">lag time</th></tr></thead><tbody id="partitions"></tbody></table>
</section>
<section class="wide">
<h2>Error events</h2>
<table><thead><tr><th>error type</th><th class="num">count</th></tr></thead><tbody id="error-types"></tbody></table>
<h3>Latest</h3>
<table><thead><tr><th>time</th><th>type</th><th>kind</th><th>partition</th><th class="num">offset</th><th>message</th></tr></thead><tbody id="errors"></tbody></table>
</section>
<section>
<h2>Rebalances</h2>
<p class="note" id="rebalance-counts"></p>
<table><thead><tr><th>time</th><th>kind</th><th>partitions</th></tr></thead><tbody id="rebalances"></tbody></table>
</section>
<section>
<h2>Restarts and waits</h2>
<p class="note" id="restart-counts"></p>
<h3>Restarts</h3>
<table><thead><tr><th>time</th><th>part</th><th>reason</th></tr></thead><tbody id="restarts"></tbody></table>
<h3>Waits</h3>
<table><thead><tr><th>time</th><th>part</th><th>reason</th></tr></thead><tbody id="waits"></tbody></table>
</section>
<section class="wide">
<h2>Configuration <span class="note">(resolved, secrets masked)</span></h2>
<pre id="config"></pre>
</section>
</main>`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

/** The page; it has no per-request part. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>status</title>
<style>${STYLE}</style>
</head>
<body>
${BODY}
<script>${SCRIPT}</script>
</body>
</html>
`;

/** Only the page's own script and style, requests only to its origin, no framing, no forms. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
