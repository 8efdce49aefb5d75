import { CONNECTOR_OPTIONS } from '../connectors/binding.js';
import { optionRows, type ConfigSchema } from '../core/config-schema.js';
import { JOBS } from '../jobs/registry.js';
import { RUNTIME_SCHEMA, STREAM_MANAGER_SCHEMA } from './config.js';

/**
 * README's configuration tables, made from the declarations: `npm run docs:config` writes them
 * between their markers, and a test fails when README and declarations disagree.
 */
export function configReferenceBlocks(): Record<string, string> {
  const sections: Record<string, string> = {
    stream_manager: table(STREAM_MANAGER_SCHEMA),
    runtime: table(RUNTIME_SCHEMA),
    'file-source': table(CONNECTOR_OPTIONS.source.file),
    'file-sink': table(CONNECTOR_OPTIONS.sink.file),
    'kafka-source': table(CONNECTOR_OPTIONS.source.kafka),
    'kafka-sink': table(CONNECTOR_OPTIONS.sink.kafka),
    'mediawiki-recentchanges-source': table(CONNECTOR_OPTIONS.source.mediawiki_recentchanges),
    'sse-source': table(CONNECTOR_OPTIONS.source.sse),
  };
  // Jobs that share a section (the enrichment jobs' `enrich`) share its table.
  for (const job of JOBS) sections[job.section.key] ??= table(job.section.schema);
  return sections;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function table(schema: ConfigSchema): string {
  const rows = optionRows(schema).map((row) => {
    const shown = row.default === 'required' || row.default === 'unset' ? row.default : `\`${row.default}\``;
    return `| \`${row.key}\` | ${cell(shown)} | ${cell(row.description)} |`;
  });
  return ['| key | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

const START = (name: string) => `<!-- config:${name} -->`;
const END = '<!-- /config -->';

/** README with every marked block replaced by its generated table; names no block lacks a marker. */
export function withConfigReference(readme: string): { text: string; missing: string[] } {
  let text = readme;
  const missing: string[] = [];
  for (const [name, body] of Object.entries(configReferenceBlocks())) {
    const start = text.indexOf(START(name));
    const end = start === -1 ? -1 : text.indexOf(END, start);
    if (start === -1 || end === -1) {
      missing.push(name);
      continue;
    }
    text = `${text.slice(0, start)}${START(name)}\n${body}\n${text.slice(end)}`;
  }
  return { text, missing };
}
