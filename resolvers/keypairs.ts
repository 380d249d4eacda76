import { ConflictError, NotFoundError, ValidationError } from '../core/errors.ts';
import { generateSshKeyPair, parsePublicKey } from '../core/ssh-keys.ts';
import { validate } from '../core/validate.ts';
import { builder } from '../schema/builder.ts';
import { keyPairSpecSchema, type KeyPairSpec } from '../schema/documents/key-pair.ts';
import { mutationErrors } from '../schema/errors.ts';
import { KeyPair, KeyPairInput, type KeyPairView } from '../schema/types/key-pair.ts';
import { findKeyPair, listKeyPairs, type KeyPairRow } from '../store/key-pairs.ts';
import { checkQuota, lockQuotaHolder } from '../store/quotas.ts';
import { requireUser } from './scope.ts';

builder.queryFields((t) => ({
  keyPairs: t.field({
    type: [KeyPair],
    description: 'Your own key pairs (they belong to your user, across projects).',
    authScopes: { policy: 'keypair:list' },
    resolve: (_r, _a, ctx) => listKeyPairs(ctx.sql, requireUser(ctx).userId),
  }),
}));

builder.mutationFields((t) => ({
  createKeyPair: t.field({
    type: KeyPair,
    description: 'Imports a public key, or generates a pair and answers with its private key once.',
    args: { input: t.arg({ type: KeyPairInput, required: true }) },
    authScopes: { policy: 'keypair:create' },
    errors: mutationErrors('CreateKeyPair', 'keyPair'),
    resolve: async (_r, { input }, ctx) => {
      const user = requireUser(ctx);
      const s = validate<KeyPairSpec>(keyPairSpecSchema, { name: input.name, ...(input.publicKey ? { publicKey: input.publicKey } : {}) });
      let key: { publicKey: string; fingerprint: string; privateKey?: string };
      if (s.publicKey) {
        const parsed = parsePublicKey(s.publicKey);
        if ('problem' in parsed) throw ValidationError.field('input.publicKey', parsed.problem);
        key = { publicKey: s.publicKey.trim(), fingerprint: parsed.fingerprint };
      } else key = generateSshKeyPair(`${s.name}@orrery`);
      return ctx.sql.begin(async (tx) => {
        // Key pairs count per user; the limit is that of the project the token is scoped to.
        await lockQuotaHolder(tx, user.projectId, user.userId);
        const [n] = await tx<{ n: number }[]>`select count(*)::int as n from key_pairs where user_id = ${user.userId}`;
        await checkQuota(tx, user.projectId, { key_pairs: { requested: 1, inUse: n!.n } });
        if (await findKeyPair(tx, user.userId, s.name)) throw new ConflictError(`you already have a key pair named ${JSON.stringify(s.name)}`);
        const [row] = await tx<KeyPairRow[]>`
          insert into key_pairs (user_id, name, public_key, fingerprint)
          values (${user.userId}, ${s.name}, ${key.publicKey}, ${key.fingerprint}) returning *`;
        const view: KeyPairView = { ...row!, ...(key.privateKey ? { private_key: key.privateKey } : {}) };
        return view;
      });
    },
  }),
  deleteKeyPair: t.field({
    type: KeyPair,
    description: 'Instances created with it keep their copy of the public key.',
    args: { name: t.arg.string({ required: true }) },
    authScopes: { policy: 'keypair:delete' },
    errors: mutationErrors('DeleteKeyPair', 'keyPair'),
    resolve: async (_r, { name }, ctx) => {
      const user = requireUser(ctx);
      const [row] = await ctx.sql<KeyPairRow[]>`delete from key_pairs where user_id = ${user.userId} and name = ${name} returning *`;
      if (!row) throw new NotFoundError('key pair', name, 'name');
      return row;
    },
  }),
}));
