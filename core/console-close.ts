/**
 * WebSocket close codes of the console proxy (the 4000–4999 range is the application's), shared by
 * the API, the agent and the CLI so a refusal reads the same everywhere. Each close also carries
 * a reason sentence (at most 123 bytes, the WebSocket limit).
 */
export const ConsoleClose = {
  /** The session ended normally (either side hung up). */
  normal: 1000,
  /** No token, or a malformed request. */
  badRequest: 4400,
  /** The caller's own bearer token (optional for clients, required for agents) is invalid. */
  unauthenticated: 4401,
  /** A token of another project, a session of another host, or a policy refusal. */
  forbidden: 4403,
  /** No such token or session. */
  unknown: 4404,
  /** The instance is no longer on the host the token was issued for (or no longer runs). */
  moved: 4409,
  /** The token was used already or has expired. */
  gone: 4410,
  /** The session waits in another API process: the agent dialled the wrong one. */
  otherProcess: 4421,
  /** The host could not open the guest's console (its VNC socket or serial pty). */
  hostFailed: 4502,
  /** The host did not dial back in time. */
  hostTimeout: 4504,
} as const;

/** A WebSocket close reason, cut to the 123 bytes a close frame can carry. */
export function closeReason(text: string): string {
  const buf = Buffer.from(text);
  if (buf.length <= 123) return text;
  return buf.subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '') + '...';
}
