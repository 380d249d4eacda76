/** dnsmasq's limit, the lowest of the resolvers a guest's name meets (Linux allows 64). */
const MAX_LENGTH = 63;

/**
 * The guest's hostname from its display name, by Nova's rules, in Nova's order: characters past
 * U+00FF go, the name is cut to 63 characters, spaces, underscores and periods become '-' (a
 * period would make the name a domain), anything else outside [A-Za-z0-9-] goes, then lowercase,
 * then leading and trailing '-' go. Nova keeps Latin-1 letters such as 'é' (its `\w` is
 * Unicode); they are not valid in a hostname (RFC 952), so they go here too.
 * A name with nothing left gives `server-<uuid>` (Nova's `Server-<uuid>`, lowercased as every
 * other hostname here is).
 */
export function sanitizeHostname(displayName: string, uuidFallback: string): string {
  const latin1 = [...displayName].filter((c) => c.codePointAt(0)! <= 0xff).join('');
  const name = latin1
    .slice(0, MAX_LENGTH)
    .replace(/[ _.]/g, '-')
    .replace(/[^A-Za-z0-9-]/g, '')
    .toLowerCase()
    .replace(/^-+|-+$/g, '');
  return name || `server-${uuidFallback}`.slice(0, MAX_LENGTH);
}
