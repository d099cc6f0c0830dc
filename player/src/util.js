// Small helpers every module may use. A leaf: imports nothing.

export const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

/** The number, when it is a finite one; else null. */
export const finite = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);

/** `base` with every key of `over` whose value is not undefined. */
export function overlay(base, over) {
  const out = Object.assign({}, isObject(base) ? base : {});
  if (isObject(over)) {
    for (const [key, value] of Object.entries(over)) {
      if (value !== undefined) out[key] = value;
    }
  }
  return out;
}
