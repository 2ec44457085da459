import type { FastifyInstance, FastifySchema } from 'fastify';
import { DECIMAL_INTEGER } from '../schemas/common.schema.js';

type Context = 'params' | 'querystring' | 'body';

/** An error the error handler reports like a schema failure: 400 `validation_error` naming the field. */
function validationError(context: Context, path: string[], message: string): Error {
  return Object.assign(new Error(`${[context, ...path].join('.')} ${message}`), {
    statusCode: 400,
    validationContext: context,
    validation: [{ instancePath: path.map((p) => `/${p}`).join(''), message, params: {} }],
  });
}

/** Names of the integer-typed properties of an object schema (through `allOf`, as Type.Intersect writes it). */
function integerKeys(schema: unknown, into = new Set<string>()): Set<string> {
  const s = schema as { properties?: Record<string, { type?: unknown; anyOf?: { type?: unknown }[] }>; allOf?: unknown[] } | undefined;
  for (const [key, property] of Object.entries(s?.properties ?? {})) {
    const types = [property.type, ...(property.anyOf ?? []).map((branch) => branch.type)].flat();
    if (types.includes('integer')) into.add(key);
  }
  for (const part of s?.allOf ?? []) integerKeys(part, into);
  return into;
}

interface Node {
  value: unknown;
  key: string;
  parent: Node | undefined;
}
const pathOf = (node: Node | undefined): string[] => {
  const path: string[] = [];
  for (let n = node; n?.parent; n = n.parent) path.unshift(n.key);
  return path;
};

/** The path of the first string (value or key) holding a NUL character, walked without recursion (bodies nest deep). */
function findNul(root: unknown): string[] | undefined {
  const stack: Node[] = [{ value: root, key: '', parent: undefined }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const { value } = node;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return pathOf(node);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\u0000')) return pathOf(node);
        stack.push({ value: item, key, parent: node });
      }
    }
  }
  return undefined;
}

/**
 * Input rules no single route schema states, applied to every route before validation:
 *
 * - An integer in the path or query string is written in plain decimal digits. The validator
 *   coerces strings with `Number()`, which reads `0x34`, `52e0`, `52.0`, `052`, `+52` and `1e300`
 *   as numbers; here they are a 400 instead of an alias of event 52 or an offset SQL rejects.
 * - No NUL character in a path, query string or JSON body. PostgreSQL text cannot hold one, so it
 *   would otherwise fail deep in a repository, as a 500 or a misleading 503.
 */
export function registerInputGuard(app: FastifyInstance): void {
  const integersBySchema = new WeakMap<FastifySchema, { params: Set<string>; querystring: Set<string> }>();
  app.addHook('preValidation', async (request) => {
    const schema = request.routeOptions.schema;
    if (schema) {
      let integers = integersBySchema.get(schema);
      if (!integers) {
        integers = { params: integerKeys(schema.params), querystring: integerKeys(schema.querystring) };
        integersBySchema.set(schema, integers);
      }
      for (const context of ['params', 'querystring'] as const) {
        const values = (context === 'params' ? request.params : request.query) as Record<string, unknown> | undefined;
        for (const key of integers[context]) {
          const raw = values?.[key];
          if (raw === undefined) continue;
          for (const item of Array.isArray(raw) ? raw : [raw]) {
            if (typeof item !== 'string' || !DECIMAL_INTEGER.test(item)) throw validationError(context, [key], 'must be an integer in plain decimal digits');
          }
        }
      }
    }
    for (const [context, value] of [['params', request.params], ['querystring', request.query], ['body', request.body]] as const) {
      const path = findNul(value);
      if (path) throw validationError(context, path, 'must not contain a NUL character (\\u0000)');
    }
  });
}
