/**
 * Error events name the error schema the error stream pins (`error_sink.stream`'s version), not a
 * fixed one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_STREAM, runJob, startApi } from '../helpers/job-harness.js';

for (const version of ['2.0.0', '2.1.0']) {
  test(`error_sink.stream pinned to ${version}: error events say $schema /error/${version}`, async (t) => {
    const api = await startApi(t);
    const run = await runJob(t, api, ['not an event', '{"also": "not a page change"}'], {
      stream_manager: { error_sink: { stream: `${ERROR_STREAM}:${version}` } },
    });
    assert.deepEqual(
      run.errors.map((e) => [e.$schema, e.error_type]),
      [
        [`/error/${version}`, 'InvalidEventError'],
        [`/error/${version}`, 'SchemaValidationError'],
      ],
    );
  });
}
