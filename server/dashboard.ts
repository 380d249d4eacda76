import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import type { Log } from '../core/log.ts';

/** Where `vite build` (the `prepare` script, run by `npm ci`) writes the dashboard. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../web/dist/', import.meta.url));

/**
 * The page holds an API token, so it runs only its own scripts and cannot be framed. Sockets may
 * go elsewhere: console URLs follow ORRERY_CONSOLE_BASE_URL, which may name another host. Styles
 * allow inline ones, which GraphiQL and noVNC set on their elements.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * Serves the dashboard's static files at `/`. They hold no data: every page asks `/graphql` with
 * the token the user pasted, so they are public like a login page. Routes live in the URL's hash,
 * so `/` and the asset files are all there is to serve.
 */
export function mountDashboard(app: Express, log: Log): void {
  if (!existsSync(`${DASHBOARD_DIR}index.html`)) {
    log.warn({ dir: DASHBOARD_DIR }, 'the dashboard is not built (npm run build:web); / answers 404');
    app.get('/', (_req, res) => {
      res.status(404).type('text/plain').send('The dashboard is not built: run `npm run build:web`, then restart.\n');
    });
    return;
  }
  // Hashed asset names change with their content, so they may be cached for good; index.html may not.
  app.use('/assets', express.static(`${DASHBOARD_DIR}assets`, { immutable: true, maxAge: '1y', index: false }));
  app.get('/', (_req, res) => {
    res.set({ 'cache-control': 'no-cache', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' });
    res.sendFile(`${DASHBOARD_DIR}index.html`);
  });
}
