/** One failed check as Ajv reports it (compiled with `verbose`, so `parentSchema` is the schema that failed). */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  parentSchema?: { format?: string; pattern?: string };
}

export interface FieldError {
  field: string;
  message: string;
}

const DATE_TIME_EXAMPLE = 'an RFC 3339 date-time with a time zone, e.g. 2024-06-15T15:00:00Z';

/**
 * Turns the validator's errors into one message per field, in words a client can act on. Ajv
 * reports every branch of a failed union (a nullable date says "must be null", an enum of literals
 * "must be equal to constant" once per literal) and names neither an unknown field nor what a
 * format wants; this says "must be one of …", "must be an RFC 3339 date-time … (or null)" and
 * "is not a known field" under the unknown field's own name.
 */
export function fieldErrors(errors: readonly SchemaError[], where: string): FieldError[] {
  const byField = new Map<string, SchemaError[]>();
  for (const e of errors) {
    const extra = (e.params.missingProperty ?? e.params.additionalProperty) as string | undefined;
    const field = [where, ...e.instancePath.split('/').filter(Boolean), ...(extra ? [extra] : [])].join('.');
    byField.set(field, [...(byField.get(field) ?? []), e]);
  }
  return [...byField].map(([field, errs]) => ({ field, message: describeField(errs) }));
}

function describeField(errs: SchemaError[]): string {
  const union = errs.some((e) => e.keyword === 'anyOf');
  const branches = errs.filter((e) => e.keyword !== 'anyOf');
  const literals = branches.filter((e) => e.keyword === 'const');
  if (literals.length > 0 && literals.length === branches.length) {
    return `must be one of ${literals.map((e) => JSON.stringify(e.params.allowedValue)).join(', ')}`;
  }
  // In a nullable field the null branch always fails too; say what the other branch wants.
  const nullBranch = (e: SchemaError): boolean => e.keyword === 'type' && e.params.type === 'null';
  // A pattern is the last word: a value that is no date-time at all also breaks the years' pattern.
  const candidates = [...branches.filter((e) => !nullBranch(e) && e.keyword !== 'pattern'), ...branches.filter((e) => e.keyword === 'pattern')];
  const wanted = candidates[0] ?? branches[0] ?? errs[0]!;
  const text = describe(wanted);
  return union && branches.some(nullBranch) && !nullBranch(wanted) ? `${text} (or null)` : text;
}

function describe(e: SchemaError): string {
  if (e.parentSchema?.format === 'date-time') {
    return e.keyword === 'pattern' ? `must be ${DATE_TIME_EXAMPLE}, years 1000–9999` : `must be ${DATE_TIME_EXAMPLE}`;
  }
  switch (e.keyword) {
    case 'additionalProperties':
      return 'is not a known field';
    case 'required':
      return 'is required';
    case 'minProperties':
      return `must set at least ${String(e.params.limit)} field${e.params.limit === 1 ? '' : 's'}`;
    default:
      return e.message ?? 'is invalid';
  }
}
