import { Router, type RequestHandler, type Response } from 'express';
import { validBody } from '../validate.ts';
import { OsError, renamed } from '../errors.ts';
import { publicBase, route } from '../http.ts';
import { allow } from '../policy.ts';
import { atLeast } from './microversion.ts';
import { loadServer, updateInstance } from './servers.ts';

const tagsSchema = {
  $id: 'openstack/compute/server-tags',
  type: 'object',
  required: ['tags'],
  additionalProperties: false,
  properties: { tags: { type: 'array', items: { type: 'string' } } },
} as const;

/** Server tags are a resource from 2.26 on; below, Nova has no such route. */
const since226: RequestHandler = (_req, res, next) => {
  next(atLeast(res, 26) ? undefined : new OsError(404, 'The resource could not be found.'));
};

/**
 * Orrery keeps a server's tags as one set that updateInstance replaces whole, so the one-tag
 * routes read the set and write it back; Orrery's tag rules (length, characters, at most 50)
 * are updateInstance's, named in a 400 by the request's field.
 */
async function setTags(res: Response, id: string, tags: string[], field: string): Promise<void> {
  await renamed({ 'input.tags': field }, () => updateInstance(res, id, { tags }));
}

export function serverTagRoutes(r: Router): void {
  r.get('/servers/:id/tags', since226, allow('os_compute_api:os-server-tags:index'), route(async (req, res) => {
    res.json({ tags: (await loadServer(res, String(req.params.id))).tags });
  }));
  r.put('/servers/:id/tags', since226, allow('os_compute_api:os-server-tags:update_all'), route(async (req, res) => {
    const { tags } = validBody<{ tags: string[] }>(tagsSchema, req.body);
    const id = (await loadServer(res, String(req.params.id))).id;
    await setTags(res, id, tags, 'tags');
    res.json({ tags: (await loadServer(res, id)).tags });
  }));
  r.delete('/servers/:id/tags', since226, allow('os_compute_api:os-server-tags:delete_all'), route(async (req, res) => {
    const id = (await loadServer(res, String(req.params.id))).id;
    await setTags(res, id, [], 'tags');
    res.status(204).end();
  }));
  r.get('/servers/:id/tags/:tag', since226, allow('os_compute_api:os-server-tags:show'), route(async (req, res) => {
    const { tags } = await loadServer(res, String(req.params.id));
    if (!tags.includes(String(req.params.tag))) throw new OsError(404, `Tag ${req.params.tag} could not be found.`);
    res.status(204).end();
  }));
  r.put('/servers/:id/tags/:tag', since226, allow('os_compute_api:os-server-tags:update'), route(async (req, res) => {
    const tag = String(req.params.tag);
    const server = await loadServer(res, String(req.params.id));
    if (server.tags.includes(tag)) {
      res.status(204).end();
      return;
    }
    await setTags(res, server.id, [...server.tags, tag], 'tag');
    res.status(201).set('location', `${publicBase(req)}/compute/v2.1/servers/${server.id}/tags/${encodeURIComponent(tag)}`).end();
  }));
  r.delete('/servers/:id/tags/:tag', since226, allow('os_compute_api:os-server-tags:delete'), route(async (req, res) => {
    const tag = String(req.params.tag);
    const server = await loadServer(res, String(req.params.id));
    if (!server.tags.includes(tag)) throw new OsError(404, `Tag ${tag} could not be found.`);
    await setTags(res, server.id, server.tags.filter((t) => t !== tag), 'tag');
    res.status(204).end();
  }));
}
