/** A TCP port given on the command line (0: any free one). */
export function portNumber(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} takes a port number, got ${JSON.stringify(raw)}`);
  return n;
}
