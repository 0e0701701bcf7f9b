/**
 * A small JSON Schema validator for the subset `report.schema.json` uses
 * (type, const, enum, properties, required, additionalProperties, items,
 * minItems, minimum, maximum, exclusiveMinimum, minLength, pattern, local
 * `$ref`), so the report's shape is checked without a validator dependency.
 * Keywords it does not know make it throw rather than pass silently.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema', '$id', '$defs', '$ref', 'title', 'description', 'type', 'const', 'enum', 'properties', 'required',
  'additionalProperties', 'items', 'minItems', 'minimum', 'maximum', 'exclusiveMinimum', 'minLength', 'pattern',
]);

/** Every violation of `schema` by `value`, as "path: problem" lines; empty when valid. */
export function validate(schema: Schema, value: unknown): string[] {
  const errors: string[] = [];
  check(schema, schema, value, '$', errors);
  return errors;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function check(root: Schema, schema: Schema, value: unknown, path: string, errors: string[]): void {
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) throw new Error(`schema keyword ${key} at ${path} is not supported`);
  if (typeof schema.$ref === 'string') {
    const match = /^#\/\$defs\/(.+)$/.exec(schema.$ref);
    const target = match === null ? undefined : (root.$defs as Record<string, Schema> | undefined)?.[match[1]!];
    if (target === undefined) throw new Error(`unresolved $ref ${schema.$ref}`);
    check(root, target, value, path, errors);
  }
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const ok = types.some((t) => t === actual || (t === 'number' && actual === 'integer'));
    if (!ok) {
      errors.push(`${path}: expected ${types.join(' or ')}, got ${actual}`);
      return;
    }
  }
  if ('const' in schema && value !== schema.const) errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${path}: expected one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${path}: ${value} < minimum ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${path}: ${value} > maximum ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) errors.push(`${path}: ${value} <= ${schema.exclusiveMinimum}`);
    if (!Number.isFinite(value)) errors.push(`${path}: not a finite number`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.items !== undefined) value.forEach((item, i) => check(root, schema.items as Schema, item, `${path}[${i}]`, errors));
  }
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in object)) errors.push(`${path}: missing ${key}`);
    for (const [key, child] of Object.entries(object)) {
      const sub = properties[key];
      if (sub !== undefined) check(root, sub, child, `${path}.${key}`, errors);
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected property ${key}`);
    }
  }
}
