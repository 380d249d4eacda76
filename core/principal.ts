export type Role = 'reader' | 'member' | 'admin';

/** Who is calling, from the bearer token. Hosts and enrollment tokens are not users. */
export type Principal =
  | { kind: 'user'; tokenId: string; userId: string; userName: string; projectId: string; roles: Role[] }
  | { kind: 'host'; tokenId: string; hostId: string }
  | { kind: 'enrollment'; tokenId: string };

export function isAdmin(p: Principal | null): boolean {
  return p?.kind === 'user' && p.roles.includes('admin');
}

/** Whose share a request counts against: a user across all their tokens, anyone else by token. */
export function shareKey(p: Principal): string {
  return p.kind === 'user' ? `user:${p.userId}` : `token:${p.tokenId}`;
}
