import type { KeyPairRow } from '../../store/key-pairs.ts';
import { builder } from '../builder.ts';

export type KeyPairView = KeyPairRow & { private_key?: string };

export const KeyPair = builder.objectRef<KeyPairView>('KeyPair').implement({
  description: "An SSH public key of your own user; createInstance(keyName) puts it in the guest's metadata as public_key.",
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    publicKey: t.exposeString('public_key'),
    fingerprint: t.exposeString('fingerprint', { description: 'MD5, colon-separated (as Nova shows it)' }),
    type: t.exposeString('type'),
    privateKey: t.string({
      nullable: true,
      description: 'Only in the answer to createKeyPair without a publicKey: the generated private key, never stored',
      resolve: (k) => k.private_key ?? null,
    }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
  }),
});

export const KeyPairInput = builder.inputType('KeyPairInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    publicKey: t.string({ description: 'An OpenSSH public key line; absent generates a pair' }),
  }),
});
