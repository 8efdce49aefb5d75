/**
 * The Helm chart under test, rendered by the real `helm` and checked by `kubernetes-validate`, both
 * kept in `.cache/` by scripts/deploy-tools.sh (which `npm test` runs first). A missing tool fails
 * the test with what to run, never skips it.
 *
 *     const render = await helmTemplate(t, { files: [...WMF_EQIAD], values: { replicas: 2 } });
 *     assert.equal(render.code, 0, render.stderr);
 *     const sts = manifest(render, 'StatefulSet');
 *
 * The Kubernetes version is pinned: the one kubernetes-validate ships as its newest, and the one
 * the Helm build assumes, so that `helm template` and the schemas agree.
 */
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { REPO_ROOT } from './cli.js';
import { tempDir } from './job-harness.js';
import { runTool, type ToolRun } from './prometheus.js';

export const KUBERNETES_VERSION = '1.37.0';
export const HELM = join(REPO_ROOT, '.cache', 'bin', 'helm');
export const KUBERNETES_VALIDATE = join(REPO_ROOT, '.cache', 'venv', 'bin', 'kubernetes-validate');
export const CHART = join(REPO_ROOT, 'deploy', 'helm', 'mediawiki-event-enrichment');
const EXAMPLES = join(REPO_ROOT, 'deploy', 'helm', 'examples');

/** The example deployments: each one's values files, in the order `helm install -f` takes them. */
export const EXAMPLE_DEPLOYMENTS = {
  'wmf-eqiad': ['wmf/common.yaml', 'wmf/eqiad.yaml', 'wmf/secrets.example.yaml'].map((f) =>
    join(EXAMPLES, f),
  ),
  'wmf-codfw': ['wmf/common.yaml', 'wmf/codfw.yaml', 'wmf/secrets.example.yaml'].map((f) =>
    join(EXAMPLES, f),
  ),
  'small-wiki': [join(EXAMPLES, 'small-wiki.yaml')],
} as const;

export type Manifest = Record<string, unknown> & {
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
};

export interface Render extends ToolRun {
  readonly manifests: readonly Manifest[];
  /** The rendered stream, as written for kubernetes-validate. */
  readonly path: string;
}

/** Fails with what to run when a tool of scripts/deploy-tools.sh is missing. */
export async function requireDeployTool(path: string): Promise<void> {
  try {
    await access(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing: run bash scripts/deploy-tools.sh (npm test runs it)`);
  }
}

/** `helm <args>` with the cached helm. */
export async function helm(args: readonly string[]): Promise<ToolRun> {
  await requireDeployTool(HELM);
  return runTool(HELM, args);
}

/**
 * `helm template` of the chart with the values files in order, then `values` as one more file (the
 * way a user's `-f` works; `--set` would make 1.5 a string). Manifests are parsed when it succeeds.
 */
export async function helmTemplate(
  t: TestContext,
  options: { files?: readonly string[]; values?: unknown; release?: string } = {},
): Promise<Render> {
  const dir = await tempDir(t, 'helm-');
  const files = [...(options.files ?? [])];
  if (options.values !== undefined) {
    const extra = join(dir, 'values.yaml');
    await writeFile(extra, stringify(options.values));
    files.push(extra);
  }
  const run = await helm([
    'template',
    options.release ?? 'mw-enrich',
    CHART,
    '--namespace',
    'enrichment',
    '--kube-version',
    KUBERNETES_VERSION,
    ...files.flatMap((f) => ['-f', f]),
  ]);
  const path = join(dir, 'rendered.yaml');
  await writeFile(path, run.stdout);
  const manifests =
    run.code === 0
      ? parseAllDocuments(run.stdout)
          .map((doc) => doc.toJS() as Manifest | null)
          .filter((m): m is Manifest => m !== null)
      : [];
  return { ...run, manifests, path };
}

/** The one manifest of `kind`; fails when there is none or several. */
export function manifest<T = Manifest>(render: Render, kind: string): T & Manifest {
  const found = render.manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0] as T & Manifest;
}

/** `kubernetes-validate --strict` of a rendered stream against Kubernetes' own schemas. */
export async function kubernetesValidate(path: string): Promise<ToolRun> {
  await requireDeployTool(KUBERNETES_VALIDATE);
  return runTool(KUBERNETES_VALIDATE, ['--strict', '--kubernetes-version', KUBERNETES_VERSION, path]);
}

export interface PodSpecPart {
  spec: {
    replicas: number;
    serviceName: string;
    podManagementPolicy: string;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: Record<string, unknown> & {
        terminationGracePeriodSeconds: number;
        securityContext: Record<string, unknown>;
        containers: Array<
          Record<string, unknown> & {
            name: string;
            args: string[];
            ports: Array<{ name: string; containerPort: number }>;
            securityContext: Record<string, unknown>;
            volumeMounts: Array<{ name: string; mountPath: string }>;
          }
        >;
        volumes: Array<Record<string, unknown> & { name: string }>;
      };
    };
  };
}

export type StatefulSet = PodSpecPart & Manifest;

/** The StatefulSet's service container (the first one; sidecars come after it). */
export function serviceContainer(sts: StatefulSet) {
  return sts.spec.template.spec.containers[0]!;
}

/**
 * The config files the pod would read, written under `dir` at the paths they are mounted at in the
 * pod, and the service's arguments with those paths moved under `dir`. The data comes from the
 * rendered ConfigMap and Secret, or from `external` for a Secret made elsewhere (by name, key →
 * text). Volumes mounted outside /etc/mw-enrich (a CA bundle, say) hold no config and are left out.
 */
export async function podConfigFiles(
  render: Render,
  dir: string,
  external: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
): Promise<{ args: string[] }> {
  const sts = manifest<PodSpecPart>(render, 'StatefulSet');
  const container = serviceContainer(sts);
  const rendered = (kind: string, name: string) =>
    render.manifests.find((m) => m.kind === kind && m.metadata.name === name)?.data as
      Record<string, string> | undefined;
  for (const volume of sts.spec.template.spec.volumes) {
    const mountPath = container.volumeMounts.find((m) => m.name === volume.name)?.mountPath;
    if (mountPath === undefined || !mountPath.startsWith('/etc/mw-enrich/')) continue;
    const configMap = volume.configMap as { name: string } | undefined;
    const secret = volume.secret as
      { secretName: string; items?: Array<{ key: string; path: string }> } | undefined;
    let files: Record<string, string>;
    if (configMap) {
      const data = rendered('ConfigMap', configMap.name);
      if (!data) throw new Error(`ConfigMap ${configMap.name} is not rendered`);
      files = data;
    } else if (secret) {
      const encoded = rendered('Secret', secret.secretName);
      const data = encoded
        ? Object.fromEntries(
            Object.entries(encoded).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
          )
        : external[secret.secretName];
      if (!data) throw new Error(`Secret ${secret.secretName} is neither rendered nor given`);
      files = secret.items
        ? Object.fromEntries(secret.items.map(({ key, path }) => [path, data[key] ?? '']))
        : { ...data };
    } else {
      throw new Error(`volume ${volume.name} at ${mountPath} is neither a ConfigMap nor a Secret`);
    }
    for (const [name, text] of Object.entries(files)) {
      const path = join(dir, mountPath, name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
    }
  }
  return { args: container.args.map((a) => (a.startsWith('/etc/mw-enrich/') ? join(dir, a) : a)) };
}
