import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

/** A number as JSON writes it: what a query or path value must be to be read as a number. */
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/**
 * Query strings and path parameters arrive as text: a value is read as the number or boolean its
 * property declares only when the text is exactly one (`limit=5`, `exact=true`), never by looser
 * rules (`limit=true` is not 1, `wait=` is not 0): such values stay text and fail the check.
 */
function readAsDeclared(schema: TSchema, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const properties = ((schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {}) as Record<string, { type?: unknown }>;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [k, v] of Object.entries(out)) {
    const type = properties[k]?.type;
    if (typeof v !== 'string') continue;
    if ((type === 'number' || type === 'integer') && NUMBER.test(v)) out[k] = Number(v);
    else if (type === 'boolean' && (v === 'true' || v === 'false')) out[k] = v === 'true';
  }
  return out;
}

/**
 * Requests are checked (by TypeBox) against the same schemas the OpenAPI document shows: JSON
 * bodies as sent, with no coercion (`"exact": null` is not false, `"count": "2"` is not 2); query
 * strings and path parameters read as their declared types (readAsDeclared).
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  return (value: unknown) => {
    const read = httpPart === 'body' ? value : readAsDeclared(schema, value);
    if (check.Check(read)) return { value: read };
    return { error: check.Errors(read) as never };
  };
};
