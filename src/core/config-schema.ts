import { Ajv, type ErrorObject } from 'ajv';
import { ConfigError } from './errors.js';
import { isPlainObject, type JsonSchemaObject } from './json-schema.js';

/**
 * The configuration is declared once, as JSON Schema: each option's type, default, bounds and
 * description. From the declaration come the checks (ajv: every problem a `ConfigError` naming the
 * key, unknown keys included), the defaults (filled in by ajv, so no default is written twice), the
 * README's reference tables and the masking of secrets (`writeOnly: true`) when the resolved config
 * is printed.
 */
export type ConfigSchema = JsonSchemaObject & {
  description?: string;
  default?: unknown;
  writeOnly?: boolean;
};

/** An object section: its options, which of them are required, and no other keys. */
export function section(
  properties: Record<string, ConfigSchema>,
  options: { required?: string[]; description?: string; default?: unknown } = {},
): ConfigSchema {
  return {
    type: 'object',
    additionalProperties: false,
    properties,
    ...(options.required ? { required: options.required } : {}),
    ...(options.description ? { description: options.description } : {}),
    ...(options.default !== undefined ? { default: options.default } : {}),
  };
}

/**
 * Compiles a configuration schema into a function that checks a document and returns a copy with
 * the defaults filled in; `at` is the document's own key (`stream_manager.source.options`), for
 * messages.
 */
export function compileConfigSchema(
  schema: ConfigSchema,
): (raw: unknown, at?: string) => Record<string, unknown> {
  // useDefaults fills a copy; the input is never changed. Schemas here are the project's own, so
  // strict mode holds them to the standard, but for the keywords used only for documentation.
  const ajv = new Ajv({
    useDefaults: true,
    allErrors: false,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
  });
  const validate = ajv.compile(schema);
  return (raw, at = '') => {
    const copy: unknown = raw === undefined || raw === null ? {} : structuredClone(raw);
    if (!validate(copy)) throw toConfigError(validate.errors?.[0], at);
    return copy as Record<string, unknown>;
  };
}

function keyOf(instancePath: string): string {
  // JSON pointer → dotted key; `~1` and `~0` are the escapes of `/` and `~`.
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .join('.');
}

function toConfigError(error: ErrorObject | undefined, base: string): ConfigError {
  if (error === undefined) return new ConfigError(base || '(root)', 'is invalid');
  const inner = keyOf(error.instancePath);
  const at = base === '' ? inner : inner === '' ? base : `${base}.${inner}`;
  const join = (name: string) => (at === '' ? name : `${at}.${name}`);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return new ConfigError(join(String(params.additionalProperty)), 'unknown key');
    case 'required':
      return new ConfigError(join(String(params.missingProperty)), 'is required');
    case 'enum':
      return new ConfigError(
        at,
        `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      );
    default:
      return new ConfigError(at === '' ? '(root)' : at, error.message ?? `fails ${error.keyword}`);
  }
}

export interface OptionRow {
  /** Dotted key below the section, e.g. `retry.max_retries`. */
  readonly key: string;
  /** `required`, `unset`, or the default as YAML would show it. */
  readonly default: string;
  readonly description: string;
}

/** One row per option of a section, nested sections flattened (`retry.max_retries`). */
export function optionRows(schema: ConfigSchema, prefix = ''): OptionRow[] {
  const rows: OptionRow[] = [];
  const required = new Set(schema.required ?? []);
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    const option = sub as ConfigSchema;
    const key = prefix === '' ? name : `${prefix}.${name}`;
    if (option.type === 'object' && isPlainObject(option.properties)) {
      rows.push(...optionRows(option, key));
      continue;
    }
    rows.push({
      key,
      default: required.has(name) ? 'required' : showDefault(option.default),
      description: option.description ?? '',
    });
  }
  return rows;
}

function showDefault(value: unknown): string {
  if (value === undefined) return 'unset';
  if (typeof value === 'string') return value === '' ? '""' : value;
  return JSON.stringify(value);
}

/** The resolved config with every `writeOnly` option (and secret-looking map entry) masked. */
export function maskSecrets(value: unknown, schema: ConfigSchema | undefined): unknown {
  if (schema?.writeOnly === true && value !== undefined) return '********';
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, undefined));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const sub = schema?.properties?.[key] as ConfigSchema | undefined;
    out[key] = sub === undefined && SECRET_NAME.test(key) ? '********' : maskSecrets(v, sub);
  }
  return out;
}

/** Entries of free-form maps (Kafka `properties`) that hold credentials. */
const SECRET_NAME = /password|secret|jaas|token|credentials/i;
