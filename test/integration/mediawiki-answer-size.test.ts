/**
 * Oversized answers with the default `max_response_bytes` (64 MiB): a 600 MiB body and gzip bombs
 * (1 MiB inflating to 1 GiB, one or three at once) each fail their revision with a
 * `ResponseFormatError` after one request, the next revision is served, and the process grows by
 * about the limit per answer, not by the answer's size. Each case runs in a process of its own
 * (`answer-size-probe.ts`) so that its peak RSS is its own.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEFAULT_MEDIAWIKI_OPTIONS } from '../../src/mediawiki/options.js';

const MIB = 1024 * 1024;
const LIMIT = DEFAULT_MEDIAWIKI_OPTIONS.maxResponseBytes;
const PROBE = fileURLToPath(new URL('../helpers/answer-size-probe.ts', import.meta.url));

interface ProbeReport {
  failures: Array<{ type: string; details?: Record<string, unknown> }>;
  requests: number;
  hosts: string[];
  serverWroteBytes: number;
  rssGrowthBytes: number;
  next: string;
}

async function probe(t: TestContext, which: string): Promise<ProbeReport> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', PROBE, which], {
    maxBuffer: MIB,
  });
  const report = JSON.parse(stdout) as ProbeReport;
  t.diagnostic(
    `${which}: peak RSS growth <= ${(report.rssGrowthBytes / MIB).toFixed(0)} MiB, ` +
      `server wrote ${(report.serverWroteBytes / MIB).toFixed(0)} MiB`,
  );
  return report;
}

const tooLarge = (counted: string) => ({
  type: 'ResponseFormatError',
  details: { reason: 'answer too large', counted, limit_bytes: LIMIT },
});

describe('answers far over max_response_bytes (default 64 MiB)', () => {
  it('a 600 MiB body streamed without a length: refused at the limit, not retried', async (t) => {
    const report = await probe(t, 'plain-600mib');
    assert.deepEqual(report.failures, [tooLarge('received')]);
    assert.equal(report.requests, 2, 'one request for the huge answer, one for the next revision');
    assert.equal(report.next, 'good');
    // The client stopped reading: the server could hand over only the limit and what sockets buffer.
    assert.ok(report.serverWroteBytes < 200 * MIB, `the server wrote ${report.serverWroteBytes} bytes`);
    assert.ok(report.rssGrowthBytes < 256 * MIB, `RSS grew by up to ${report.rssGrowthBytes} bytes`);
  });

  it('a gzip bomb (1 MiB inflating to 1 GiB): refused after 64 MiB of output, not retried', async (t) => {
    const report = await probe(t, 'gzip-bomb');
    assert.deepEqual(report.failures, [tooLarge('decompressed')]);
    assert.equal(report.requests, 2);
    assert.equal(report.next, 'good');
    assert.ok(report.rssGrowthBytes < 256 * MIB, `RSS grew by up to ${report.rssGrowthBytes} bytes`);
  });

  it('three gzip bombs at once (three wikis): each refused, memory about the limit per answer', async (t) => {
    const report = await probe(t, 'gzip-bomb-x3');
    assert.deepEqual(report.failures, [
      tooLarge('decompressed'),
      tooLarge('decompressed'),
      tooLarge('decompressed'),
    ]);
    assert.deepEqual(report.hosts.slice(0, 3).sort(), [
      'de.wikipedia.org',
      'en.wikipedia.org',
      'fr.wikipedia.org',
    ]);
    assert.equal(report.requests, 4);
    assert.equal(report.next, 'good');
    assert.ok(report.rssGrowthBytes < 512 * MIB, `RSS grew by up to ${report.rssGrowthBytes} bytes`);
  });
});
