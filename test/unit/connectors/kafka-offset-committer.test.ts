import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codes, KafkaClientError } from '../../../src/connectors/kafka/kafka-error.js';
import { OffsetCommitter, type CommitTiming } from '../../../src/connectors/kafka/offset-committer.js';
import { PartitionOwnership } from '../../../src/connectors/kafka/partition-ownership.js';
import { FakeConsumer, kafkaError, recordingDeps, settle, track, until } from './kafka-fake-consumer.js';

/** Long enough that no commit in these tests times out unless it is meant to. */
const PATIENT: CommitTiming = { timeoutMs: 60_000, deadlineMs: 60_000 };

function setup(timing: CommitTiming = PATIENT) {
  const consumer = new FakeConsumer();
  const ownership = new PartitionOwnership();
  ownership.assign(['t/0', 't/1']);
  const deps = recordingDeps();
  let waitingCalls = 0;
  const committer = new OffsetCommitter(
    consumer,
    (next) => ownership.ownedOffsets(next),
    () => waitingCalls++,
    deps,
    timing,
  );
  return { consumer, ownership, deps, committer, waitingCalls: () => waitingCalls };
}

const offsets = (entries: Record<string, number>) => new Map(Object.entries(entries));

function hasCode(code: number) {
  return (err: unknown) => err instanceof KafkaClientError && err.code === code;
}

describe('OffsetCommitter', () => {
  it('sends one commit at a time and settles each on its answer, in order', async () => {
    const { consumer, committer, deps, waitingCalls } = setup();
    const settled: string[] = [];
    const a = committer.commit(offsets({ 't/0': 5 })).then(() => settled.push('a'));
    const b = committer.commit(offsets({ 't/0': 9, 't/1': 2 })).then(() => settled.push('b'));
    await settle();
    assert.deepEqual(consumer.calls, ['commit t/0@5'], 'b waits for the answer to a');
    assert.deepEqual([committer.waiting, waitingCalls()], [true, 1]);
    committer.onResult(undefined, consumer.commits[0]);
    await until(() => consumer.calls.length === 2);
    assert.deepEqual(settled, ['a']);
    assert.deepEqual(consumer.calls, ['commit t/0@5', 'commit t/0@9,t/1@2']);
    committer.onResult(undefined, consumer.commits[1]);
    await Promise.all([a, b]);
    assert.deepEqual([settled, committer.waiting], [['a', 'b'], false]);
    assert.equal(deps.counts.get('kafka_commits_total{"outcome":"ok"}'), 2);
  });

  it('chooses the offsets when the commit is sent: a partition released meanwhile is left out', async () => {
    const { consumer, ownership, committer } = setup();
    const a = committer.commit(offsets({ 't/0': 1 }));
    const b = committer.commit(offsets({ 't/0': 2, 't/1': 7 }));
    await settle();
    ownership.release(['t/1']);
    committer.onResult(undefined, undefined);
    await a;
    await until(() => consumer.commits.length === 2);
    assert.equal(consumer.calls[1], 'commit t/0@2');
    committer.onResult(undefined, undefined);
    await b;
  });

  it('resolves at once, without a commit call, when no partition is owned', async () => {
    const { consumer, committer } = setup();
    await committer.commit(offsets({ 'other/0': 3 }));
    assert.deepEqual(consumer.calls, []);
  });

  it('a commit that gets no answer times out, and its late answer does not settle the next commit', async () => {
    // No retry (deadline 0), and a timeout that leaves the second commit ample time for its answers.
    const { consumer, committer } = setup({ timeoutMs: 200, deadlineMs: 0 });
    const a = committer.commit(offsets({ 't/0': 1 }));
    await assert.rejects(a, hasCode(codes.ERR__TIMED_OUT));
    const b = track(committer.commit(offsets({ 't/0': 2 })));
    await until(() => consumer.commits.length === 2);
    committer.onResult(undefined, undefined); // the late answer to a
    await new Promise(setImmediate);
    assert.equal(b.state, 'pending');
    committer.onResult(kafkaError(codes.ERR_OFFSET_METADATA_TOO_LARGE), undefined);
    await until(() => b.state !== 'pending');
    assert.ok(hasCode(codes.ERR_OFFSET_METADATA_TOO_LARGE)(b.error));
  });

  it('retries a transient failure and resolves on a later success', async () => {
    const { consumer, committer, deps } = setup();
    const a = committer.commit(offsets({ 't/0': 4 }));
    await until(() => consumer.commits.length === 1);
    committer.onResult(kafkaError(codes.ERR_COORDINATOR_NOT_AVAILABLE), undefined);
    await until(() => consumer.commits.length === 2);
    committer.onResult(undefined, undefined);
    await a;
    assert.deepEqual(consumer.calls, ['commit t/0@4', 'commit t/0@4']);
    assert.ok(deps.logs.includes('warn: kafka commit failed; retrying'));
  });

  it('gives up on transient failures at the deadline with the last error', async () => {
    const { consumer, committer } = setup({ timeoutMs: 60_000, deadlineMs: 150 });
    const a = track(committer.commit(offsets({ 't/0': 4 })));
    await until(() => consumer.commits.length === 1);
    committer.onResult(kafkaError(codes.ERR_COORDINATOR_NOT_AVAILABLE), undefined);
    await until(() => consumer.commits.length === 2);
    committer.onResult(kafkaError(codes.ERR_NOT_COORDINATOR), undefined);
    await until(() => a.state !== 'pending');
    assert.ok(hasCode(codes.ERR_NOT_COORDINATOR)(a.error));
    assert.equal(consumer.commits.length, 2, 'the next wait (200 ms) would pass the deadline');
  });

  it('resolves when the group no longer counts this member, and counts it', async () => {
    const { consumer, committer, deps } = setup();
    const a = committer.commit(offsets({ 't/0': 4 }));
    await until(() => consumer.commits.length === 1);
    committer.onResult(kafkaError(codes.ERR_UNKNOWN_MEMBER_ID), undefined);
    await a;
    assert.equal(deps.counts.get('kafka_commits_total{"outcome":"not_member"}'), 1);
    assert.equal(deps.counts.get('kafka_commits_total{"outcome":"ok"}'), undefined);
  });

  it('resolves a commit refused because the client was fenced (the source replaces it), and one abandoned with it', async () => {
    const { consumer, committer, deps } = setup();
    const a = committer.commit(offsets({ 't/0': 4 }));
    await until(() => consumer.commits.length === 1);
    committer.onResult(kafkaError(codes.ERR__FATAL, { isFatal: true }), undefined);
    await a;
    const b = committer.commit(offsets({ 't/0': 5 }));
    await until(() => consumer.commits.length === 2);
    committer.abandon(new KafkaClientError('the consumer was fenced', codes.ERR_FENCED_INSTANCE_ID));
    await b;
    assert.equal(deps.counts.get('kafka_commits_total{"outcome":"not_member"}'), 2);
  });

  it('takes "no offset" (already committed) as success, and a per-partition error as failure', async () => {
    const { consumer, committer } = setup();
    const a = committer.commit(offsets({ 't/0': 4 }));
    await until(() => consumer.commits.length === 1);
    committer.onResult(kafkaError(codes.ERR__NO_OFFSET), undefined);
    await a;
    const b = committer.commit(offsets({ 't/0': 5, 't/1': 1 }));
    await until(() => consumer.commits.length === 2);
    committer.onResult(undefined, [
      { topic: 't', partition: 0, offset: 5 },
      { topic: 't', partition: 1, offset: 1, error: kafkaError(codes.ERR_OFFSET_METADATA_TOO_LARGE) },
    ]);
    await assert.rejects(b, hasCode(codes.ERR_OFFSET_METADATA_TOO_LARGE));
  });

  it('rejects without waiting when the client refuses the commit, and the next commit still runs', async () => {
    const { consumer, committer, waitingCalls } = setup();
    consumer.commitThrows = kafkaError(codes.ERR__STATE);
    await assert.rejects(committer.commit(offsets({ 't/0': 4 })), hasCode(codes.ERR__STATE));
    assert.deepEqual([committer.waiting, waitingCalls()], [false, 0]);
    const b = committer.commit(offsets({ 't/0': 4 }));
    await until(() => consumer.commits.length === 1);
    committer.onResult(undefined, undefined);
    await b;
  });

  it('ignores an answer nobody waits for', () => {
    const { committer } = setup();
    committer.onResult(undefined, undefined);
    assert.equal(committer.waiting, false);
  });
});
