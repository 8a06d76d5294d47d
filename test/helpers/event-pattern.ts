/**
 * A small local matcher for EventBridge event patterns, following the documented semantics: exact
 * values, arrays as alternatives, nested objects, `prefix`, `suffix`, `exists`, `anything-but`
 * (values, lists or a prefix), and `$or`. A field missing from the event matches only
 * `exists: false`; an array in the event matches when any of its elements does.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function matchesValue(matcher: Json, value: Json | undefined): boolean {
  if (matcher !== null && typeof matcher === 'object' && !Array.isArray(matcher)) {
    if ('exists' in matcher) return (value !== undefined) === matcher.exists;
    if (value === undefined) return false;
    if (Array.isArray(value)) return value.some((v) => matchesValue(matcher, v));
    if ('prefix' in matcher) return typeof value === 'string' && value.startsWith(String(matcher.prefix));
    if ('suffix' in matcher) return typeof value === 'string' && value.endsWith(String(matcher.suffix));
    if ('anything-but' in matcher) {
      const but = matcher['anything-but'];
      if (but !== null && typeof but === 'object' && !Array.isArray(but) && 'prefix' in but) return !(typeof value === 'string' && value.startsWith(String(but.prefix)));
      return !(Array.isArray(but) ? but : [but]).some((b) => b === value);
    }
    throw new Error(`unsupported matcher ${JSON.stringify(matcher)}`);
  }
  if (value === undefined) return false;
  if (Array.isArray(value)) return value.some((v) => matchesValue(matcher, v));
  return matcher === value;
}

export function matchesPattern(pattern: Record<string, Json>, event: Json | undefined): boolean {
  if (Array.isArray(event)) return event.some((element) => matchesPattern(pattern, element));
  for (const [key, expected] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!(expected as Record<string, Json>[]).some((branch) => matchesPattern(branch, event))) return false;
      continue;
    }
    const value = event !== null && typeof event === 'object' ? (event as Record<string, Json>)[key] : undefined;
    if (Array.isArray(expected)) {
      if (!expected.some((matcher) => matchesValue(matcher, value))) return false;
    } else if (expected !== null && typeof expected === 'object') {
      if (value === undefined || typeof value !== 'object' || value === null) return false;
      if (!matchesPattern(expected as Record<string, Json>, value)) return false;
    } else {
      throw new Error(`a pattern's leaf must be a list of matchers, got ${JSON.stringify(expected)} at ${key}`);
    }
  }
  return true;
}

/**
 * Resolves CloudFormation intrinsics in a synthesized template to stable strings, so patterns and
 * sample events can be compared: `{Ref: X}` → "ref-X", `{Fn::GetAtt: [X, Arn]}` → "arn-X",
 * `Fn::Join` joined, pseudo parameters to the test account and region.
 */
export function resolveIntrinsics(value: unknown, pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::AccountId': '111122223333', 'AWS::Region': 'eu-west-1', 'AWS::URLSuffix': 'amazonaws.com' }): any {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, pseudo));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) return pseudo[object.Ref as string] ?? `ref-${object.Ref}`;
  if ('Fn::GetAtt' in object) {
    const [id, attribute] = object['Fn::GetAtt'] as [string, string];
    return attribute === 'Arn' ? `arn-${id}` : `${attribute}-${id}`;
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveIntrinsics(p, pseudo)).join(separator);
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, resolveIntrinsics(v, pseudo)]));
}
