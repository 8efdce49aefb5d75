import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { dateTimeFormat } from './date-time-format.js';
import { PromiseCache } from './promise-cache.js';
import type { SchemaRepository } from './schema-repository.js';

export type ValidationResult = { valid: true } | { valid: false; message: string };
export type Validate = (value: unknown) => ValidationResult;

const VALID: ValidationResult = Object.freeze({ valid: true });

/**
 * Validates values against event schemas from a `SchemaRepository`. Each schema is compiled once
 * (concurrent callers share the compile); a compiled validator never throws for bad input.
 */
export class Validator {
  private readonly ajv: Ajv;
  private readonly compiled = new PromiseCache<string, Validate>();

  constructor(private readonly repository: SchemaRepository) {
    // Schemas come from repositories outside this project and from versions not yet written; a
    // keyword that only ajv's strict dialect dislikes must not stop the service.
    this.ajv = new Ajv({ strict: false, allErrors: false });
    addFormats.default(this.ajv);
    // The same check, without allocating for the shape events carry (see date-time-format.ts).
    this.ajv.addFormat('date-time', dateTimeFormat);
  }

  forSchema(schemaUri: string): Promise<Validate> {
    return this.compiled.get(schemaUri, (uri) => this.compile(uri));
  }

  private async compile(schemaUri: string): Promise<Validate> {
    const schema = await this.repository.get(schemaUri);
    // `latest` and `1.2.0` are one schema with one `$id`; ajv refuses to add an `$id` twice.
    const id = typeof schema.$id === 'string' ? schema.$id : undefined;
    const fn: ValidateFunction =
      (id !== undefined ? this.ajv.getSchema(id) : undefined) ?? this.ajv.compile(schema);
    return (value) => (fn(value) ? VALID : { valid: false, message: describe(fn.errors) });
  }
}

function describe(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'invalid';
  return errors
    .map((e) => {
      const where = e.instancePath === '' ? '(root)' : e.instancePath;
      const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
      return `${where} ${e.message ?? e.keyword}${extra}`;
    })
    .join('; ');
}
