import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedSequencer } from '../../../src/runtime/keyed-sequencer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('runs steps of one key in order and steps of different keys concurrently', async () => {
  const seq = new KeyedSequencer();
  const log: string[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const step = (name: string, ms: number) => async () => {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    log.push(`start ${name}`);
    await sleep(ms);
    log.push(`end ${name}`);
    concurrent--;
    return name;
  };
  const results = await Promise.all([
    seq.run('a', step('a1', 30)),
    seq.run('b', step('b1', 5)),
    seq.run('a', step('a2', 1)),
    seq.run('b', step('b2', 1)),
  ]);
  assert.deepEqual(results, ['a1', 'b1', 'a2', 'b2']);
  assert.ok(log.indexOf('end a1') < log.indexOf('start a2'));
  assert.ok(log.indexOf('end b1') < log.indexOf('start b2'));
  assert.ok(log.indexOf('end b2') < log.indexOf('end a1'), 'key b finished while a1 was still running');
  assert.equal(maxConcurrent, 2);
  assert.equal(seq.size, 0, 'settled keys are forgotten');
});

test('a failed step does not block the next step of its key', async () => {
  const seq = new KeyedSequencer();
  const first = seq.run('k', async () => {
    throw new Error('boom');
  });
  const second = seq.run('k', async () => 'ok');
  await assert.rejects(first, /boom/);
  assert.equal(await second, 'ok');
});
