import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { ConfigError } from '../core/errors.js';

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Later mappings override earlier ones key by key; lists and scalars are replaced whole. */
export function mergeConfigs(layers: readonly unknown[]): Mapping {
  const merge = (base: Mapping, over: Mapping): Mapping => {
    const out: Mapping = { ...base };
    for (const [key, value] of Object.entries(over)) {
      const prior = out[key];
      out[key] = isMapping(prior) && isMapping(value) ? merge(prior, value) : value;
    }
    return out;
  };
  return layers.reduce<Mapping>((acc, layer) => merge(acc, layer as Mapping), {});
}

/** Reads YAML (or JSON, which is YAML) config files and merges them in order. */
export async function loadConfigFiles(paths: readonly string[]): Promise<Mapping> {
  if (paths.length === 0) throw new ConfigError('--config', 'at least one config file is required');
  const layers: Mapping[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new ConfigError('--config', `cannot read ${path}: ${(err as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (err) {
      throw new ConfigError(path, `is not valid YAML: ${(err as Error).message}`);
    }
    if (doc === null || doc === undefined) continue;
    if (!isMapping(doc)) throw new ConfigError(path, 'must contain a mapping at the top level');
    layers.push(doc);
  }
  return mergeConfigs(layers);
}
