/**
 * The part of JSON Schema (draft-07) this project reads itself. Everything else is left to ajv, so
 * unknown keywords are kept as `unknown`.
 */
export interface JsonSchemaObject {
  $id?: string;
  $schema?: string;
  title?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema;
  items?: JsonSchema | JsonSchema[];
  required?: string[];
  [keyword: string]: unknown;
}

/** Draft-07 allows `true` (anything) and `false` (nothing) wherever a schema may appear. */
export type JsonSchema = JsonSchemaObject | boolean;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
