import { createHash, generateKeyPairSync } from 'node:crypto';

const TYPES = ['ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'];

/** An SSH wire-format string: 4-byte big-endian length, then the bytes. */
function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** Nova's fingerprint: MD5 of the key blob, as colon-separated hex. */
function fingerprint(blob: Buffer): string {
  return createHash('md5').update(blob).digest('hex').match(/../g)!.join(':');
}

/**
 * Checks an OpenSSH public key line ("<type> <base64> [comment]") and returns its fingerprint,
 * or a reason it is not one: the blob must decode and name the same type it is declared as.
 */
export function parsePublicKey(line: string): { fingerprint: string } | { problem: string } {
  const [type, b64] = line.trim().split(/\s+/);
  if (!type || !TYPES.includes(type)) return { problem: `must start with one of ${TYPES.join(', ')}` };
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return { problem: 'has no base64 key after the type' };
  const blob = Buffer.from(b64, 'base64');
  if (blob.length < 4) return { problem: 'key data is too short' };
  const n = blob.readUInt32BE(0);
  if (blob.subarray(4, 4 + n).toString('latin1') !== type) return { problem: `key data is not a ${type} key` };
  return { fingerprint: fingerprint(blob) };
}

/** A fresh ECDSA P-256 pair: the public key as an OpenSSH line, the private key as PEM OpenSSH reads. */
export function generateSshKeyPair(comment: string): { publicKey: string; privateKey: string; fingerprint: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  const blob = Buffer.concat([sshString(Buffer.from('ecdsa-sha2-nistp256')), sshString(Buffer.from('nistp256')), sshString(point)]);
  return {
    publicKey: `ecdsa-sha2-nistp256 ${blob.toString('base64')} ${comment}`,
    privateKey: privateKey.export({ format: 'pem', type: 'sec1' }).toString(),
    fingerprint: fingerprint(blob),
  };
}
