/** PostgreSQL error codes resolvers turn into typed errors. */
export function uniqueViolation(e: unknown): boolean {
  return (e as { code?: string }).code === '23505';
}

export function foreignKeyViolation(e: unknown): boolean {
  return (e as { code?: string }).code === '23503';
}
