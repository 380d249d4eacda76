import { ValidationError } from '../core/errors.ts';
import { builder } from '../schema/builder.ts';
import { mutationErrors } from '../schema/errors.ts';
import { Instance } from '../schema/types/instance.ts';
import { CreateLookups, prepareInstance, writeInstances, type PreparedInstance } from './instance-create.ts';
import { CreateInstanceInput } from './instances.ts';
import { requireUser } from './scope.ts';

/** Enough for a fleet roll-out in a few requests, small enough that one request stays one short transaction. */
const MAX_BULK_CREATE = 1000;

builder.mutationFields((t) => ({
  createInstances: t.field({
    type: [Instance],
    description:
      `Creates up to ${MAX_BULK_CREATE} instances in one transaction (Nova's min_count = max_count): every input is ` +
      'validated first and the quota is checked for all of them together, so either all are created or none is. ' +
      'Errors name the input, e.g. inputs.3.flavor. Each instance then builds as after createInstance.',
    args: { inputs: t.arg({ type: [CreateInstanceInput], required: true }) },
    authScopes: { policy: 'instance:create' },
    errors: mutationErrors('CreateInstances', 'instances'),
    resolve: async (_r, { inputs }, ctx) => {
      const user = requireUser(ctx);
      if (inputs.length === 0) throw ValidationError.field('inputs', 'must name at least one instance');
      if (inputs.length > MAX_BULK_CREATE) throw ValidationError.field('inputs', `must name at most ${MAX_BULK_CREATE} instances`);
      const lookups = new CreateLookups(ctx, user);
      const settled = await Promise.allSettled(inputs.map((input, i) => prepareInstance(input, `inputs.${i}`, lookups)));
      // The first failing input in order, whichever look-up finished first.
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
      const prepared = settled.map((s) => (s as PromiseFulfilledResult<PreparedInstance>).value);
      return ctx.sql.begin((tx) => writeInstances(tx, ctx, user, prepared));
    },
  }),
}));
