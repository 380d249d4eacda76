/** Shared fragments of the desired-state JSON Schemas. */

export const name = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^\\u0000-\\u001f]*$' } as const;

export const stringMap = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 65535 },
  propertyNames: { minLength: 1, maxLength: 255 },
  maxProperties: 128,
} as const;

/** A reference to another object, by name or UUID. */
export const reference = { type: 'string', minLength: 1, maxLength: 255 } as const;

export const uuid = {
  type: 'string',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
} as const;
