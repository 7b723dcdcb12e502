/** RFC 9110's preferred date form, e.g. `Wed, 21 Oct 2026 07:28:00 GMT`. */
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * A Retry-After header as whole seconds from now, or undefined when it is neither a number
 * of seconds nor an HTTP date (V8's Date.parse alone accepts "tomorrow 3").
 */
export function retryAfterSeconds(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,6}$/.test(trimmed)) return Number(trimmed);
  if (IMF_FIXDATE.test(trimmed)) {
    const at = Date.parse(trimmed);
    if (!Number.isNaN(at)) return Math.max(0, Math.ceil((at - now) / 1000));
  }
  return undefined;
}
