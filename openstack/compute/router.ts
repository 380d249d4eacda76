import express, { Router } from 'express';
import { authenticated, errors, notFound, publicBase, requestIds, type BaseContext } from '../http.ts';
import { aggregateRoutes } from './aggregates.ts';
import { flavorRoutes } from './flavors.ts';
import { hostRoutes } from './hosts.ts';
import { instanceActionRoutes } from './instance-actions.ts';
import { keypairRoutes } from './keypairs.ts';
import { microversion } from './microversion.ts';
import { quotaRoutes } from './quotas.ts';
import { serverActionRoutes } from './server-actions.ts';
import { serverGroupRoutes } from './server-groups.ts';
import { serverInterfaceRoutes } from './server-interfaces.ts';
import { serverTagRoutes } from './server-tags.ts';
import { serverRoutes } from './servers.ts';
import { computeVersion } from './versions.ts';

/** /compute: version discovery, then Compute v2.1 behind X-Auth-Token and microversion negotiation. */
export function computeRouter(base: BaseContext): Router {
  const r = Router();
  r.use(requestIds('compute', base.log));
  r.get('/', (req, res) => {
    res.json({ versions: [computeVersion(publicBase(req))] });
  });
  r.get(['/v2.1', '/v2.1/'], (req, res) => {
    res.json({ version: computeVersion(publicBase(req)) });
  });
  const v21 = Router();
  v21.use(authenticated(base), microversion(), express.json({ limit: '1mb' }));
  serverRoutes(v21);
  serverActionRoutes(v21);
  serverInterfaceRoutes(v21);
  serverTagRoutes(v21);
  instanceActionRoutes(v21);
  flavorRoutes(v21);
  keypairRoutes(v21);
  aggregateRoutes(v21);
  hostRoutes(v21);
  serverGroupRoutes(v21);
  quotaRoutes(v21);
  r.use('/v2.1', v21);
  r.use(notFound('compute'));
  r.use(errors('compute', base));
  return r;
}
