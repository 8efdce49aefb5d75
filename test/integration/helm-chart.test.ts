/**
 * The Helm chart (deploy/helm/mediawiki-event-enrichment), offline: `helm lint --strict`, `helm
 * template` of each example deployment validated strictly against Kubernetes' own schemas, the
 * rendered config layers accepted by the built CLI's `--check`, the values schema refusing bad
 * values, and what the chart derives (instance ids, grace period, probes, layers, rules).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { KAFKA_SOURCE_OPTIONS } from '../../src/connectors/kafka/options.js';
import { RUNTIME_SCHEMA } from '../../src/runtime/config.js';
import { BIN, ensureBuilt, REPO_ROOT } from '../helpers/cli.js';
import {
  CHART,
  EXAMPLE_DEPLOYMENTS,
  helm,
  helmTemplate,
  kubernetesValidate,
  manifest,
  podConfigFiles,
  serviceContainer,
  type Render,
  type StatefulSet,
} from '../helpers/helm.js';
import { tempDir } from '../helpers/job-harness.js';
import { promtool, RULES_FILE, runTool, SCRAPE_JOB } from '../helpers/prometheus.js';

const WMF_EQIAD = EXAMPLE_DEPLOYMENTS['wmf-eqiad'];
const SMALL_WIKI = EXAMPLE_DEPLOYMENTS['small-wiki'];

/** Built-in kinds each example renders (kubernetes-validate knows them), and the operator's kinds. */
const BUILT_IN = ['PodDisruptionBudget', 'ServiceAccount', 'ConfigMap', 'Service', 'StatefulSet'];
const EXPECTED_KINDS: Record<keyof typeof EXAMPLE_DEPLOYMENTS, { builtIn: string[]; operator: string[] }> = {
  'wmf-eqiad': { builtIn: [...BUILT_IN, 'Secret'], operator: ['PodMonitor', 'PrometheusRule'] },
  'wmf-codfw': { builtIn: [...BUILT_IN, 'Secret'], operator: ['PodMonitor', 'PrometheusRule'] },
  'small-wiki': { builtIn: BUILT_IN, operator: [] },
};

/**
 * Test-only layer, after the chart's: the WMF example's stream_config_uri (meta.wikimedia.org's
 * EventStreamConfig API) and schema repository (schema.wikimedia.org), and the small wiki's own API,
 * cannot be reached offline; the repository's stream config and bundled schemas stand in for them.
 * Everything else is checked as rendered.
 */
const OFFLINE_LAYER = {
  stream_manager: {
    stream_config_uri: 'examples/stream-config.yaml',
    schema_uris: ['schemas/primary/jsonschema'],
  },
};

/** The Kafka part of `--print-config`'s output that the tests read. */
interface KafkaOptions {
  readonly bootstrap_servers: string[];
  readonly topics?: string[];
  readonly consumer_group?: string;
  readonly instance_id?: string;
  readonly kafka_topic_prefix?: string;
  readonly properties: Record<string, string>;
}
type PrintedConfig = { stream_manager: Record<'source' | 'sink' | 'error_sink', { options: KafkaOptions }> };

const sorted = (xs: readonly string[]) => [...xs].sort();

async function render(t: TestContext, files: readonly string[], values?: unknown): Promise<Render> {
  const result = await helmTemplate(t, { files, values });
  assert.equal(result.code, 0, result.stderr);
  return result;
}

/** `mw-enrich <rendered args> --config <offline layer> <flag>` in the repository, as the pod would run it. */
async function runRenderedConfig(
  t: TestContext,
  rendered: Render,
  flag: '--check' | '--print-config',
  externalSecrets: Record<string, Record<string, string>> = {},
) {
  await ensureBuilt();
  const dir = await tempDir(t, 'helm-pod-');
  const { args } = await podConfigFiles(rendered, dir, externalSecrets);
  const offline = join(dir, 'offline.yaml');
  await writeFile(offline, JSON.stringify(OFFLINE_LAYER));
  return runTool(process.execPath, [BIN, ...args, '--config', offline, flag], { cwd: REPO_ROOT });
}

describe('helm chart: lint and example deployments', () => {
  for (const [name, files] of Object.entries(EXAMPLE_DEPLOYMENTS)) {
    it(`${name}: helm lint --strict passes`, async () => {
      const lint = await helm(['lint', '--strict', CHART, ...files.flatMap((f) => ['-f', f])]);
      assert.equal(lint.code, 0, lint.stdout + lint.stderr);
      assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(lint.stdout, /\[(WARNING|ERROR)\]/);
    });

    it(`${name}: the rendered manifests are strictly valid Kubernetes 1.37 objects`, async (t) => {
      const rendered = await render(t, files);
      const expected = EXPECTED_KINDS[name as keyof typeof EXAMPLE_DEPLOYMENTS];
      assert.deepEqual(
        sorted(rendered.manifests.map((m) => m.kind)),
        sorted([...expected.builtIn, ...expected.operator]),
      );
      const validation = await kubernetesValidate(rendered.path);
      assert.equal(validation.code, 0, validation.stdout + validation.stderr);
      const output = validation.stdout + validation.stderr;
      const passed = [...output.matchAll(/passed for resource (\w+)\//g)].map((m) => m[1]!);
      assert.deepEqual(sorted(passed), sorted(expected.builtIn.map((k) => k.toLowerCase())));
      // Only the Prometheus Operator's kinds go unvalidated here (their checks are below).
      const unknown = [...output.matchAll(/Couldn't find schema for kind (\w+)/g)].map((m) => m[1]!);
      assert.deepEqual(sorted(unknown), sorted(expected.operator));
    });

    it(`${name}: the rendered config layers pass mw-enrich --check`, async (t) => {
      const check = await runRenderedConfig(t, await render(t, files), '--check');
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stderr, /configuration ok/);
    });
  }

  it('the --check above fails on a config the service refuses (a layer the values schema lets through)', async (t) => {
    const rendered = await render(t, SMALL_WIKI, { configLayers: { zz: { enrich: { batch_size: 5000 } } } });
    const check = await runRenderedConfig(t, rendered, '--check');
    assert.equal(check.code, 2, check.stderr);
    assert.match(check.stderr, /configuration error: enrich\.batch_size/);
  });

  it('each data centre reads and writes its own topics, with the password from the Secret layer', async (t) => {
    for (const dc of ['eqiad', 'codfw'] as const) {
      const rendered = await render(t, EXAMPLE_DEPLOYMENTS[`wmf-${dc}`]);
      const printed = await runRenderedConfig(t, rendered, '--print-config');
      assert.equal(printed.code, 0, printed.stderr);
      const sm = (parse(printed.stdout) as PrintedConfig).stream_manager;
      const [source, sink, errorSink] = [sm.source.options, sm.sink.options, sm.error_sink.options];
      assert.deepEqual(source.topics, [`${dc}.mediawiki.page_change.v1`]);
      assert.equal(source.consumer_group, `mw-page-content-change-enrich.dse-k8s-${dc}.000`);
      assert.equal(sink.kafka_topic_prefix, `${dc}.`);
      assert.equal(errorSink.kafka_topic_prefix, `${dc}.`);
      for (const options of [source, sink, errorSink]) {
        assert.ok(options.bootstrap_servers.every((b) => b.includes(`.${dc}.wmnet:`)));
        assert.equal(options.properties['security.protocol'], 'SASL_SSL');
        assert.equal(options.properties['sasl.username'], 'mw-page-content-change-enrich');
        // Masked: it came from the Secret's layer (the ConfigMap has no sasl.password at all).
        assert.equal(options.properties['sasl.password'], '********');
      }
      assert.equal(source.instance_id, undefined, 'instance_id is the pod name, not configured');
      assert.doesNotMatch(JSON.stringify(manifest(rendered, 'ConfigMap')), /sasl\.password/);
    }
  });
  it('takes the credentials from a Secret made elsewhere (existingSecret) just as well', async (t) => {
    const [common, eqiad, secrets] = WMF_EQIAD;
    const rendered = await render(t, [common!, eqiad!], {
      existingSecret: { name: 'mw-page-content-change-enrich-kafka', key: 'kafka.yaml' },
    });
    assert.equal(rendered.manifests.filter((m) => m.kind === 'Secret').length, 0);
    const layer = (parse(await readFile(secrets!, 'utf8')) as { secretConfig: unknown }).secretConfig;
    const external = { 'mw-page-content-change-enrich-kafka': { 'kafka.yaml': stringify(layer) } };
    const check = await runRenderedConfig(t, rendered, '--check', external);
    assert.equal(check.code, 0, check.stderr);
    const printed = await runRenderedConfig(t, rendered, '--print-config', external);
    const sm = (parse(printed.stdout) as PrintedConfig).stream_manager;
    for (const binding of [sm.source, sm.sink, sm.error_sink]) {
      assert.equal(binding.options.properties['sasl.username'], 'mw-page-content-change-enrich');
      assert.equal(binding.options.properties['sasl.password'], '********');
    }
  });
});

describe('helm chart: the StatefulSet', () => {
  it('gives each replica a stable name that the service accepts as its instance_id', async (t) => {
    const rendered = await render(t, WMF_EQIAD);
    const sts = manifest<StatefulSet>(rendered, 'StatefulSet');
    assert.equal(sts.metadata.name, 'mw-page-content-change-enrich-eqiad');
    assert.equal(sts.spec.replicas, 3);
    assert.equal(sts.spec.podManagementPolicy, 'Parallel');
    assert.equal(manifest(rendered, 'Service').metadata.name, sts.spec.serviceName);
    // A pod's host name is its name unless the spec says otherwise.
    for (const key of ['hostname', 'subdomain', 'hostNetwork', 'setHostnameAsFQDN']) {
      assert.equal(sts.spec.template.spec[key], undefined, key);
    }
    const pattern = new RegExp(
      (KAFKA_SOURCE_OPTIONS.properties as Record<string, { pattern: string }>).instance_id!.pattern,
    );
    for (let i = 0; i < sts.spec.replicas; i++) assert.match(`${sts.metadata.name}-${i}`, pattern);
    // The longest name the values schema allows, as a pod name.
    assert.match(`${'a'.repeat(52)}-99`, pattern);
  });

  it('runs the job with its layers in order; probes, port and annotations on metrics.port', async (t) => {
    const rendered = await render(t, WMF_EQIAD, { metrics: { port: 9100, scrapeAnnotations: true } });
    const sts = manifest<StatefulSet>(rendered, 'StatefulSet');
    const container = serviceContainer(sts);
    assert.deepEqual(container.args, [
      'page-content-change',
      '--config',
      '/etc/mw-enrich/config/config.yaml',
      '--config',
      '/etc/mw-enrich/secret/config.yaml',
      '--config',
      '/etc/mw-enrich/config/chart.yaml',
    ]);
    assert.equal(
      container.image,
      'docker-registry.example.org/repos/data-engineering/mediawiki-event-enrichment:0.1.0',
    );
    assert.deepEqual(container.ports, [{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }]);
    assert.deepEqual(
      ['startupProbe', 'livenessProbe', 'readinessProbe'].map(
        (p) => (container[p] as { httpGet: unknown }).httpGet,
      ),
      [
        { path: '/healthz', port: 'metrics' },
        { path: '/healthz', port: 'metrics' },
        { path: '/readyz', port: 'metrics' },
      ],
    );
    const annotations = sts.spec.template.metadata.annotations;
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(annotations['prometheus.io/port'], '9100');
    assert.equal(annotations['prometheus.io/path'], '/metrics');
    const chartLayer = (manifest(rendered, 'ConfigMap').data as Record<string, string>)['chart.yaml']!;
    assert.deepEqual(parse(chartLayer), { runtime: { metrics_port: 9100 } });
  });

  it('runs non-root with a read-only root filesystem, /tmp an emptyDir, no API token', async (t) => {
    const rendered = await render(t, SMALL_WIKI);
    const sts = manifest<StatefulSet>(rendered, 'StatefulSet');
    const pod = sts.spec.template.spec;
    const container = serviceContainer(sts);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, 10001);
    assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities, { drop: ['ALL'] });
    assert.ok(container.volumeMounts.some((m) => m.name === 'tmp' && m.mountPath === '/tmp'));
    assert.deepEqual(
      pod.volumes.find((v) => v.name === 'tmp'),
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    );
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(manifest(rendered, 'ServiceAccount').automountServiceAccountToken, false);
    assert.deepEqual(container.resources, {
      requests: { cpu: '100m', memory: '384Mi' },
      limits: { memory: '384Mi' },
    });
  });

  it('derives terminationGracePeriodSeconds from the drain timeout of the last layer that sets it', async (t) => {
    const grace = async (values: unknown) =>
      manifest<StatefulSet>(await render(t, SMALL_WIKI, values), 'StatefulSet').spec.template.spec
        .terminationGracePeriodSeconds;
    assert.equal(await grace({}), 20 + 30, 'small-wiki: drain_timeout_ms 20000 + 30 s margin');
    assert.equal(await grace({ config: { runtime: { drain_timeout_ms: 45_001 } } }), 46 + 30, 'rounded up');
    assert.equal(
      await grace({
        configLayers: {
          b: { runtime: { drain_timeout_ms: 90_000 } },
          a: { runtime: { drain_timeout_ms: 1 } },
        },
      }),
      90 + 30,
      'layer b comes after layer a',
    );
    assert.equal(await grace({ shutdownMarginSeconds: 10 }), 20 + 10);
    assert.equal(await grace({ terminationGracePeriodSeconds: 21 }), 21);
    // Without a drain_timeout_ms anywhere, the service's own default.
    const unset = manifest<StatefulSet>(
      await render(t, [], { job: 'page-content-change', config: { enrich: {} } }),
      'StatefulSet',
    ).spec.template.spec.terminationGracePeriodSeconds;
    const serviceDefault = (RUNTIME_SCHEMA.properties as Record<string, { default: number }>)
      .drain_timeout_ms!.default;
    assert.equal(unset, serviceDefault / 1000 + 30);
  });

  it('refuses a terminationGracePeriodSeconds not longer than the drain timeout', async (t) => {
    for (const seconds of [20, 5]) {
      const refused = await helmTemplate(t, {
        files: SMALL_WIKI,
        values: { terminationGracePeriodSeconds: seconds },
      });
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        new RegExp(
          `terminationGracePeriodSeconds \\(${seconds} s\\) must be longer than runtime.drain_timeout_ms \\(20000 ms\\)`,
        ),
      );
    }
  });

  it('orders config layers by name, then the Secret layers, then the chart layer', async (t) => {
    const rendered = await render(t, SMALL_WIKI, {
      configLayers: { 'b-tuning': { runtime: { max_in_flight: 100 } }, 'a-site': { enrich: { maxlag: 3 } } },
      secretConfig: { enrich: { user_agent: 'secret-agent/1 (ops@example.org)' } },
      existingSecret: { name: 'wiki-kafka-credentials', key: 'kafka.yaml' },
    });
    const sts = manifest<StatefulSet>(rendered, 'StatefulSet');
    assert.deepEqual(
      serviceContainer(sts).args.filter((a) => a.startsWith('/')),
      [
        '/etc/mw-enrich/config/config.yaml',
        '/etc/mw-enrich/config/layer-a-site.yaml',
        '/etc/mw-enrich/config/layer-b-tuning.yaml',
        '/etc/mw-enrich/secret/config.yaml',
        '/etc/mw-enrich/existing-secret/config.yaml',
        '/etc/mw-enrich/config/chart.yaml',
      ],
    );
    assert.deepEqual(
      sts.spec.template.spec.volumes.find((v) => v.name === 'existing-secret'),
      {
        name: 'existing-secret',
        secret: {
          secretName: 'wiki-kafka-credentials',
          defaultMode: 0o440, // written in decimal: YAML 1.1 and 1.2 read 0440 differently
          items: [{ key: 'kafka.yaml', path: 'config.yaml' }],
        },
      },
    );
    const data = manifest(rendered, 'ConfigMap').data as Record<string, string>;
    assert.deepEqual(Object.keys(data).sort(), [
      'chart.yaml',
      'config.yaml',
      'layer-a-site.yaml',
      'layer-b-tuning.yaml',
    ]);
    assert.deepEqual(parse(data['layer-a-site.yaml']!), { enrich: { maxlag: 3 } });
  });

  it('rolls the pods when the config changes, and only then', async (t) => {
    const checksum = async (values: unknown) =>
      manifest<StatefulSet>(await render(t, SMALL_WIKI, values), 'StatefulSet').spec.template.metadata
        .annotations['checksum/config'];
    const base = await checksum({});
    assert.equal(await checksum({ replicas: 1 }), base);
    assert.notEqual(await checksum({ config: { runtime: { max_in_flight: 50 } } }), base);
  });
});

describe('helm chart: monitoring', () => {
  it('the PrometheusRule holds deploy/prometheus/rules.yaml, which promtool accepts', async (t) => {
    const rule = manifest<{ spec: { groups: unknown } }>(await render(t, WMF_EQIAD), 'PrometheusRule');
    const source = parse(await readFile(RULES_FILE, 'utf8')) as { groups: unknown };
    assert.deepEqual(rule.spec.groups, source.groups);
    const dir = await tempDir(t, 'helm-rules-');
    const extracted = join(dir, 'rules.yaml');
    await writeFile(extracted, JSON.stringify(rule.spec));
    const check = await promtool(['check', 'rules', extracted]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });

  it('helm package stores the rules file itself, not the symbolic link', async (t) => {
    const dir = await tempDir(t, 'helm-package-');
    const packaged = await helm(['package', CHART, '--destination', dir]);
    assert.equal(packaged.code, 0, packaged.stderr);
    const { stdout } = await promisify(execFile)(
      'tar',
      [
        '-xOzf',
        join(dir, 'mediawiki-event-enrichment-0.1.0.tgz'),
        'mediawiki-event-enrichment/files/prometheus-rules.yaml',
      ],
      { maxBuffer: 1 << 24 },
    );
    assert.equal(stdout, await readFile(RULES_FILE, 'utf8'));
  });

  it('the PodMonitor scrapes the pods on their metrics port, under the job the process alerts select', async (t) => {
    const rendered = await render(t, WMF_EQIAD);
    const sts = manifest<StatefulSet>(rendered, 'StatefulSet');
    const monitor = manifest<{
      spec: {
        jobLabel: string;
        selector: { matchLabels: Record<string, string> };
        podMetricsEndpoints: unknown[];
      };
    }>(rendered, 'PodMonitor');
    const podLabels = sts.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels))
      assert.equal(podLabels[key], value);
    assert.deepEqual(monitor.spec.selector.matchLabels, sts.spec.selector.matchLabels);
    assert.equal(podLabels[monitor.spec.jobLabel], SCRAPE_JOB);
    assert.match(await readFile(RULES_FILE, 'utf8'), new RegExp(`up\\{job="${SCRAPE_JOB}"\\}`));
    assert.deepEqual(monitor.spec.podMetricsEndpoints, [
      { port: serviceContainer(sts).ports[0]!.name, path: '/metrics', interval: '30s', scrapeTimeout: '10s' },
    ]);
  });

  it('the PodDisruptionBudget selects the pods and lets one go at a time', async (t) => {
    const rendered = await render(t, WMF_EQIAD);
    const pdb = manifest<{ spec: { maxUnavailable: number; selector: unknown } }>(
      rendered,
      'PodDisruptionBudget',
    );
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector, manifest<StatefulSet>(rendered, 'StatefulSet').spec.selector);
  });
});

describe('helm chart: the values schema refuses bad values', () => {
  const base = { job: 'page-content-change', config: { enrich: { maxlag: 5 } } };
  const cases: Array<{ name: string; values: Record<string, unknown>; message: RegExp }> = [
    {
      name: 'replicas as a string',
      values: { ...base, replicas: 'three' },
      message: /'\/replicas': got string, want integer/,
    },
    {
      name: 'replicas not an integer',
      values: { ...base, replicas: 1.5 },
      message: /'\/replicas': got number, want integer/,
    },
    {
      name: 'negative replicas',
      values: { ...base, replicas: -1 },
      message: /'\/replicas': minimum: got -1, want 0/,
    },
    { name: 'missing job', values: { config: base.config }, message: /missing property 'job'/ },
    {
      name: 'unknown job',
      values: { ...base, job: 'enrich' },
      message: /'\/job': value must be one of 'page-content-change'/,
    },
    { name: 'missing config', values: { job: base.job }, message: /missing property 'config'/ },
    {
      name: 'unknown top-level key',
      values: { ...base, replica: 2 },
      message: /additional properties 'replica' not allowed/,
    },
    {
      name: 'unknown config section',
      values: { ...base, config: { runtim: { max_in_flight: 1 } } },
      message: /'\/config': additional properties 'runtim' not allowed/,
    },
    {
      name: 'name that is no DNS label (pod names are instance ids)',
      values: { ...base, fullnameOverride: 'Mw_Enrich' },
      message: /'\/fullnameOverride': 'Mw_Enrich' does not match pattern/,
    },
    {
      name: 'name too long for a StatefulSet',
      values: { ...base, fullnameOverride: 'a'.repeat(53) },
      message: /'\/fullnameOverride': maxLength: got 53, want 52/,
    },
    {
      name: 'instance_id in a shared layer',
      values: { ...base, config: { stream_manager: { source: { options: { instance_id: 'one' } } } } },
      message: /'\/config\/stream_manager\/source\/options\/instance_id': 'not' failed/,
    },
    {
      name: 'instance_id in a named layer',
      values: {
        ...base,
        configLayers: { site: { stream_manager: { source: { options: { instance_id: 'x' } } } } },
      },
      message: /'\/configLayers\/site\/stream_manager\/source\/options\/instance_id': 'not' failed/,
    },
    {
      name: 'metrics_port in a layer (the chart sets it)',
      values: { ...base, config: { runtime: { metrics_port: 9000 } } },
      message: /'\/config\/runtime\/metrics_port': 'not' failed/,
    },
    {
      name: 'drain_timeout_ms as a duration string',
      values: { ...base, config: { runtime: { drain_timeout_ms: '30s' } } },
      message: /'\/config\/runtime\/drain_timeout_ms': got string, want integer/,
    },
    {
      name: 'runtime in the Secret layer',
      values: { ...base, secretConfig: { runtime: { drain_timeout_ms: 1 } } },
      message: /'\/secretConfig': additional properties 'runtime' not allowed/,
    },
    {
      name: 'layer name that is no file name',
      values: { ...base, configLayers: { 'my layer': {} } },
      // (helm names the wrong location for this one, but the right name and pattern)
      message: /invalid propertyName 'my layer'[^]*'my layer' does not match pattern/,
    },
    {
      name: 'metrics port as a string',
      values: { ...base, metrics: { port: '9464', scrapeAnnotations: true } },
      message: /'\/metrics\/port': got string, want integer/,
    },
    {
      name: 'writable root filesystem',
      values: {
        ...base,
        securityContext: {
          runAsNonRoot: true,
          readOnlyRootFilesystem: false,
          allowPrivilegeEscalation: false,
        },
      },
      message: /'\/securityContext\/readOnlyRootFilesystem': value must be true/,
    },
    {
      name: 'root pod',
      values: { ...base, podSecurityContext: { runAsNonRoot: false } },
      message: /'\/podSecurityContext\/runAsNonRoot': value must be true/,
    },
    {
      name: 'PodDisruptionBudget that lets nothing go',
      values: { ...base, podDisruptionBudget: { enabled: true, maxUnavailable: 0 } },
      message: /'\/podDisruptionBudget\/maxUnavailable': minimum: got 0, want 1/,
    },
    {
      name: 'unknown probe setting',
      values: {
        ...base,
        livenessProbe: { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6, path: '/x' },
      },
      message: /'\/livenessProbe': additional properties 'path' not allowed/,
    },
  ];

  it('accepts the base values the cases below break', async (t) => {
    const accepted = await helmTemplate(t, { values: base });
    assert.equal(accepted.code, 0, accepted.stderr);
  });

  for (const { name, values, message } of cases) {
    it(name, async (t) => {
      const refused = await helmTemplate(t, { values });
      assert.notEqual(refused.code, 0, `rendered:\n${refused.stdout.slice(0, 500)}`);
      assert.match(refused.stderr, /values don't meet the specifications of the schema/);
      assert.match(refused.stderr, message);
    });
  }

  it('helm lint --strict without values fails naming what is missing', async () => {
    const lint = await helm(['lint', '--strict', CHART]);
    assert.notEqual(lint.code, 0);
    assert.match(lint.stdout, /missing properties 'job', 'config'/);
  });
});
