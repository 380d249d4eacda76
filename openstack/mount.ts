import type { Express } from 'express';
import { computeRouter } from './compute/router.ts';
import type { BaseContext } from './http.ts';
import { identityRouter } from './identity/routes.ts';
import { imageRouter } from './image/router.ts';

/** The OpenStack-compatible facade (Identity v3, Compute v2.1, Image v2) on the API's own port. */
export function mountOpenstack(app: Express, base: BaseContext): void {
  app.use('/identity/v3', identityRouter(base));
  app.use('/compute', computeRouter(base));
  app.use('/image', imageRouter(base));
}
