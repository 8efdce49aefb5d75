/**
 * The Helm chart's table of values, made from its values.schema.json (meaning, type) and values.yaml
 * (default): `npm run docs:config` writes it into the chart's README.md between its markers, and a
 * test fails when they disagree.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

export const CHART_DIR = fileURLToPath(
  new URL('../deploy/helm/mediawiki-event-enrichment/', import.meta.url),
);

interface SchemaNode {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly $ref?: string;
  readonly description?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: boolean | SchemaNode;
  readonly required?: readonly string[];
}

export interface ValueRow {
  readonly key: string;
  readonly type: string;
  readonly default: string;
  readonly meaning: string;
}

/** A closed group of settings without a meaning of its own (image, metrics, …) is listed by its keys. */
function listedByKeys(node: SchemaNode): boolean {
  return (
    node.properties !== undefined && node.additionalProperties === false && node.description === undefined
  );
}

function typeOf(node: SchemaNode): string {
  if (node.enum !== undefined) return node.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (node.$ref !== undefined) return 'object';
  const types = node.type === undefined ? [] : [node.type].flat();
  return types.join(' or ');
}

function shownDefault(value: unknown, required: boolean): string {
  if (value === undefined) return required ? 'required' : 'unset';
  if (value === null) return '`null`';
  return `\`${JSON.stringify(value)}\``;
}

/** One row per value, in the schema's order; nested groups by dotted key. */
export function valueRows(schema: SchemaNode, values: Record<string, unknown>): ValueRow[] {
  const rows: ValueRow[] = [];
  const walk = (node: SchemaNode, defaults: Record<string, unknown> | undefined, prefix: string) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const value = defaults?.[name];
      if (listedByKeys(child)) {
        walk(child, value as Record<string, unknown> | undefined, `${prefix}${name}.`);
        continue;
      }
      rows.push({
        key: `${prefix}${name}`,
        type: typeOf(child),
        default: shownDefault(value, node.required?.includes(name) ?? false),
        meaning: child.description ?? '',
      });
    }
  };
  walk(schema, values, '');
  return rows;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

export function valuesTable(rows: readonly ValueRow[]): string {
  const lines = rows.map((r) => `| \`${r.key}\` | ${r.type} | ${cell(r.default)} | ${cell(r.meaning)} |`);
  return ['| key | type | default | meaning |', '| --- | --- | --- | --- |', ...lines].join('\n');
}

const START = '<!-- helm:values -->';
const END = '<!-- /helm:values -->';

/** The chart's schema and default values as read from the chart folder. */
export async function chartSchemaAndValues(): Promise<{
  schema: SchemaNode;
  values: Record<string, unknown>;
}> {
  const schema = JSON.parse(await readFile(`${CHART_DIR}values.schema.json`, 'utf8')) as SchemaNode;
  const values = (parse(await readFile(`${CHART_DIR}values.yaml`, 'utf8')) ?? {}) as Record<string, unknown>;
  return { schema, values };
}

/** `readme` with the table between its markers replaced; undefined when a marker is missing. */
export function withValuesTable(readme: string, table: string): string | undefined {
  const start = readme.indexOf(START);
  const end = start === -1 ? -1 : readme.indexOf(END, start);
  if (start === -1 || end === -1) return undefined;
  return `${readme.slice(0, start)}${START}\n${table}\n${readme.slice(end)}`;
}

async function main(): Promise<void> {
  const path = `${CHART_DIR}README.md`;
  const { schema, values } = await chartSchemaAndValues();
  const text = withValuesTable(await readFile(path, 'utf8'), valuesTable(valueRows(schema, values)));
  if (text === undefined) {
    process.stderr.write(`${path} has no ${START} … ${END} markers\n`);
    process.exit(1);
  }
  await writeFile(path, text);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
