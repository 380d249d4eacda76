/**
 * What every text input must be before it is written: PostgreSQL stores no NUL in text (nor in
 * jsonb), and a lone UTF-16 surrogate is no character at all (its UTF-8 would be invalid).
 */

/** The longest string any input may carry; JSON Schemas of the documents set tighter bounds per field. */
export const MAX_TEXT_LENGTH = 65_536;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `value` cannot be stored as text, or null when it can. */
export function textIssue(value: string, maxLength = MAX_TEXT_LENGTH): string | null {
  if (value.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  if (LONE_SURROGATE.test(value)) return 'must not contain a lone surrogate (U+D800 to U+DFFF is no character)';
  if (value.length > maxLength) return `is ${value.length} characters long, more than ${maxLength}`;
  return null;
}

/** The most of a guest's console tail the API keeps per instance. */
export const MAX_CONSOLE_BYTES = 64 * 1024;

/**
 * A guest's console as the agent reports it: NUL bytes dropped (firmware and boot loaders print
 * them; they mean nothing on a terminal and PostgreSQL cannot store them), lone surrogates replaced
 * by U+FFFD, and only the last MAX_CONSOLE_BYTES of UTF-8 kept, cut at a character boundary.
 */
export function reportableConsoleText(output: string): string {
  const clean = output.replaceAll('\u0000', '').replace(new RegExp(LONE_SURROGATE, 'g'), '\uFFFD');
  const bytes = Buffer.from(clean, 'utf8');
  if (bytes.length <= MAX_CONSOLE_BYTES) return clean;
  let start = bytes.length - MAX_CONSOLE_BYTES;
  while ((bytes[start]! & 0xc0) === 0x80) start++; // not in the middle of a character
  return bytes.subarray(start).toString('utf8');
}
