import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KafkaClientError, type KafkaConnectors } from '../../src/connectors/kafka/index.js';
import { isTransactional, type Source } from '../../src/connectors/types.js';
import { committedOffsets, createTopic, ensureKafka, uniqueName } from '../helpers/kafka.js';
import {
  closeConnectors,
  iterate,
  kafkaConnectors,
  nextOffsets,
  pull,
  recordingListener,
  text,
} from '../helpers/kafka-connectors.js';
import { kcatConsume, kcatProduce, keyedValues } from '../helpers/kcat.js';

interface Setup {
  readonly bootstrap: string;
  readonly input: string;
  readonly group: string;
  readonly instanceId: string;
  readonly output: string;
  readonly errors: string;
}

/** Exactly-once connectors: source, output sink and error sink over one transactional producer. */
function exactlyOnce(setup: Setup, properties: Record<string, string> = {}): Required<KafkaConnectors> {
  const eos = { delivery_guarantee: 'EXACTLY_ONCE' };
  const { source, sink, errorSink } = kafkaConnectors(undefined, setup.bootstrap, {
    clientId: `eos-${setup.instanceId}`,
    source: {
      topic: setup.input,
      options: { ...eos, consumer_group: setup.group, instance_id: setup.instanceId, properties },
    },
    sink: { stream: setup.output, options: eos },
    errorSink: { stream: setup.errors, options: eos },
  });
  return { source: source!, sink: sink!, errorSink: errorSink! };
}

/** Reads `count` inputs and sends one output per input ("out:<value>"), or an error for "bad" ones. */
async function processInputs(c: Required<KafkaConnectors>, source: Source, count: number) {
  const it = iterate(source, recordingListener());
  const inputs = await pull(it, (rs) => rs.length === count);
  await Promise.all(
    inputs.map((r) =>
      text(r.value)?.startsWith('bad')
        ? c.errorSink.send({ key: null, value: Buffer.from(`error:${text(r.value)}`) })
        : c.sink.send({ key: text(r.key), value: Buffer.from(`out:${text(r.value)}`) }),
    ),
  );
  return { it, inputs };
}

// The child process of the "killed" test: opens a transaction, writes outputs, reports, and waits
// for SIGKILL.
const child = process.env.KAFKA_TXN_CHILD
  ? (JSON.parse(process.env.KAFKA_TXN_CHILD) as Setup & { count: number })
  : undefined;
if (child) {
  const c = exactlyOnce(child, { 'session.timeout.ms': '6000', 'heartbeat.interval.ms': '500' });
  await processInputs(c, c.source, child.count);
  process.stdout.write('SENT\n');
  await new Promise(() => {});
} else {
  const bootstrap = await ensureKafka();

  /**
   * Topics of one partition each, so that kcat returns the outputs in the order they were sent; the
   * input holds `values`, keyed `k<index>`.
   */
  const setupFor = async (prefix: string, values: readonly string[]): Promise<Setup> => {
    const setup = {
      bootstrap,
      input: await createTopic(bootstrap, 1, `${prefix}-in`),
      group: uniqueName(`${prefix}-group`),
      instanceId: uniqueName('instance'),
      output: await createTopic(bootstrap, 1, `${prefix}-out`),
      errors: await createTopic(bootstrap, 1, `${prefix}-err`),
    };
    await kcatProduce(bootstrap, setup.input, keyedValues(values));
    return setup;
  };

  const connectorsFor = (t: TestContext, setup: Setup, properties?: Record<string, string>) => {
    const c = exactlyOnce(setup, properties);
    t.after(() => closeConnectors(c));
    return c;
  };

  describe('exactly-once Kafka connectors on a real broker', { timeout: 240_000 }, () => {
    it('commits outputs, errors and input offsets in one transaction', async (t) => {
      const setup = await setupFor('txn-commit', ['a', 'b', 'bad-c', 'd']);
      const c = connectorsFor(t, setup);
      assert.ok(isTransactional(c.source));
      const { it: inputs, inputs: first } = await processInputs(c, c.source, 4);

      // Sent but not committed: invisible to read_committed readers, offsets not committed.
      assert.deepEqual(await kcatConsume(bootstrap, setup.output, { isolation: 'read_committed' }), []);
      assert.deepEqual(await committedOffsets(bootstrap, setup.group, setup.input), new Map());

      await c.source.commit(nextOffsets(first));
      assert.deepEqual(
        (await kcatConsume(bootstrap, setup.output, { isolation: 'read_committed' })).map((r) => [
          r.key,
          r.value,
        ]),
        [
          ['k0', 'out:a'],
          ['k1', 'out:b'],
          ['k3', 'out:d'],
        ],
      );
      assert.deepEqual(
        (await kcatConsume(bootstrap, setup.errors, { isolation: 'read_committed' })).map((r) => r.value),
        ['error:bad-c'],
      );
      assert.deepEqual(
        await committedOffsets(bootstrap, setup.group, setup.input),
        new Map([[`${setup.input}/0`, 4]]),
      );

      // The next transaction begins on the next send.
      await kcatProduce(bootstrap, setup.input, [{ key: 'k4', value: 'e' }]);
      const [fifth] = await pull(inputs, (rs) => rs.length === 1);
      assert.ok(fifth);
      await c.sink.send({ key: text(fifth.key), value: Buffer.from(`out:${text(fifth.value)}`) });
      await c.source.commit(nextOffsets([fifth]));
      assert.deepEqual(
        (await kcatConsume(bootstrap, setup.output, { isolation: 'read_committed' })).map((r) => r.value),
        ['out:a', 'out:b', 'out:d', 'out:e'],
      );
      assert.deepEqual(
        await committedOffsets(bootstrap, setup.group, setup.input),
        new Map([[`${setup.input}/0`, 5]]),
      );
    });

    it('aborts what was not committed when it closes; the group reads those inputs again', async (t) => {
      const setup = await setupFor('txn-abort', ['a', 'b', 'c']);
      const c = exactlyOnce(setup);
      await processInputs(c, c.source, 3);
      await closeConnectors(c);

      assert.deepEqual(
        (await kcatConsume(bootstrap, setup.output)).map((r) => r.value),
        ['out:a', 'out:b', 'out:c'],
        'written',
      );
      assert.deepEqual(
        await kcatConsume(bootstrap, setup.output, { isolation: 'read_committed' }),
        [],
        'but aborted',
      );
      assert.deepEqual(await committedOffsets(bootstrap, setup.group, setup.input), new Map());

      const again = connectorsFor(t, setup);
      const { inputs } = await processInputs(again, again.source, 3);
      assert.deepEqual(
        inputs.map((r) => r.offset),
        [0, 1, 2],
      );
      await again.source.commit(nextOffsets(inputs));
      assert.deepEqual(
        (await kcatConsume(bootstrap, setup.output, { isolation: 'read_committed' })).map((r) => r.value),
        ['out:a', 'out:b', 'out:c'],
      );
    });

    it('a new instance with the same instance_id fences the old one, whose commit then fails', async (t) => {
      const setup = await setupFor('txn-fence', ['a', 'b']);
      const fast = { 'heartbeat.interval.ms': '500' };
      const zombie = connectorsFor(t, setup, fast);
      await processInputs(zombie, zombie.source, 2);

      // The zombie drops out of the group (as after a session timeout) with its transaction still
      // open: its sinks keep the shared producer alive.
      await zombie.source.close();
      const successor = connectorsFor(t, setup, fast);
      const { inputs } = await processInputs(successor, successor.source, 2);
      assert.deepEqual(
        inputs.map((r) => r.offset),
        [0, 1],
      );
      await successor.source.commit(nextOffsets(inputs));

      await assert.rejects(
        zombie.source.commit(new Map([[`${setup.input}/0`, 2]])),
        (err: unknown) => err instanceof KafkaClientError,
      );
      await assert.rejects(zombie.sink.send({ key: 'late', value: Buffer.from('late') }));
      assert.deepEqual(
        (await kcatConsume(bootstrap, setup.output)).map((r) => r.value),
        ['out:a', 'out:b', 'out:a', 'out:b'],
        'both wrote',
      );
      assert.deepEqual(
        (await kcatConsume(bootstrap, setup.output, { isolation: 'read_committed' })).map((r) => r.value),
        ['out:a', 'out:b'],
        'only the successor committed',
      );
      assert.deepEqual(
        await committedOffsets(bootstrap, setup.group, setup.input),
        new Map([[`${setup.input}/0`, 2]]),
      );
    });

    it('outputs of a killed process stay invisible; its restart aborts them and commits its own once', async (t) => {
      const setup = await setupFor('txn-kill', ['a', 'b', 'c']);
      const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
        env: { ...process.env, KAFKA_TXN_CHILD: JSON.stringify({ ...setup, count: 3 }) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      t.after(() => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'));
      let out = '';
      proc.stdout.setEncoding('utf8');
      for await (const chunk of proc.stdout) {
        out += chunk;
        if (out.includes('SENT\n')) break;
      }
      assert.equal(out, 'SENT\n');
      proc.kill('SIGKILL');
      await once(proc, 'exit');

      assert.deepEqual(
        (await kcatConsume(bootstrap, setup.output)).map((r) => r.value),
        ['out:a', 'out:b', 'out:c'],
        'written',
      );
      assert.deepEqual(
        await kcatConsume(bootstrap, setup.output, { isolation: 'read_committed' }),
        [],
        'not committed',
      );

      const restarted = connectorsFor(t, setup, {
        'session.timeout.ms': '6000',
        'heartbeat.interval.ms': '500',
      });
      const { inputs } = await processInputs(restarted, restarted.source, 3);
      assert.deepEqual(
        inputs.map((r) => r.offset),
        [0, 1, 2],
      );
      await restarted.source.commit(nextOffsets(inputs));
      assert.deepEqual(
        (await kcatConsume(bootstrap, setup.output, { isolation: 'read_committed' })).map((r) => r.value),
        ['out:a', 'out:b', 'out:c'],
        'exactly one committed copy',
      );
      assert.equal(
        (await kcatConsume(bootstrap, setup.output)).length,
        6,
        'the killed copy is still in the log, aborted',
      );
      assert.deepEqual(
        await committedOffsets(bootstrap, setup.group, setup.input),
        new Map([[`${setup.input}/0`, 3]]),
      );
    });
  });
}
