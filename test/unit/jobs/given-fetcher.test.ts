import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { it } from 'node:test';
import type { JobDefinition } from '../../../src/jobs/contract.js';
import type { EnrichConfig } from '../../../src/jobs/page-content-change/config.js';
import { createEnrichmentJob, pageContentChange } from '../../../src/jobs/page-content-change/job.js';
import type { RevisionFetcher, RevisionRequest } from '../../../src/mediawiki/types.js';
import { runJob } from '../../../src/runtime/main.js';
import { pageChangeEvent } from '../../helpers/events.js';
import { jobConfig, jobPaths, tempDir } from '../../helpers/job-harness.js';

it('a given fetcher replaces the Action API: its content is enriched, and it is closed with the job', async (t) => {
  const asked: RevisionRequest[] = [];
  let closed = 0;
  const fetcher: RevisionFetcher = {
    fetch: async (request) => {
      asked.push(request);
      return {
        revId: request.revId,
        slots: { main: { role: 'main', content: `text of ${request.revId}`, textHidden: false } },
      };
    },
    close: async () => void closed++,
  };
  const definition: JobDefinition = {
    ...pageContentChange,
    create: (parts, section) => createEnrichmentJob(parts, section as EnrichConfig, fetcher),
  };
  const paths = jobPaths(await tempDir(t));
  const events = [7, 8].map((revId) => pageChangeEvent({ revision: { rev_id: revId } }));
  await writeFile(paths.input, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  // Nothing listens at the endpoint: a request to it would fail the events.
  const { summary } = await runJob(definition, jobConfig(paths, 'http://127.0.0.1:9/w/api.php'));

  assert.deepEqual(summary.outcomes, { enriched: 2, passed: 0, dropped: 0, failed: 0 });
  assert.deepEqual(
    asked.map((r) => [r.domain, r.revId]),
    [
      ['en.wikipedia.org', 7],
      ['en.wikipedia.org', 8],
    ],
  );
  const outputs = (await readFile(paths.output, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    outputs.map((o) => o.revision.content_slots.main.content_body),
    ['text of 7', 'text of 8'],
  );
  assert.equal(closed, 1);
});
