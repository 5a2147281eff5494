// The one place JavaScript names meet the wire's: the SDK speaks camelCase (`systemPrompt`,
// `phoneNumbers`), the server snake_case (`system_prompt`, `phone_numbers`). Every request body and
// query goes through toWire, every response and event through fromWire.

/**
 * Names the wire keeps in camelCase (the supervisor routes' `callSid`, as in the seed): sent as
 * they are, not as `call_sid`.
 */
const SENT_AS_IS = new Set(['callSid']);

/** Keys whose values are the caller's own data, passed through untouched both ways. */
const OPAQUE = new Set(['metadata']);

/** @param {string} name */
export function snakeName(name) {
  return SENT_AS_IS.has(name) ? name : name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** @param {string} name */
export function camelName(name) {
  return name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

/**
 * @param {unknown} value
 * @param {(name: string) => string} rename
 * @returns {unknown}
 */
function renameKeys(value, rename) {
  if (Array.isArray(value)) return value.map((v) => renameKeys(v, rename));
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return value;
  }
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue; // omitted, as JSON would omit it
    out[rename(key)] = OPAQUE.has(key) ? v : renameKeys(v, rename);
  }
  return out;
}

/**
 * A request body or query in the wire's names.
 * @param {unknown} value
 * @returns {unknown}
 */
export function toWire(value) {
  return renameKeys(value, snakeName);
}

/**
 * A response body or event in the SDK's names.
 * @template T
 * @param {unknown} value
 * @returns {T}
 */
export function fromWire(value) {
  return /** @type {T} */ (renameKeys(value, camelName));
}
