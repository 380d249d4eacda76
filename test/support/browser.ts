import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { DASHBOARD_DIR } from '../../server/dashboard.ts';

/** Debian's Chromium (scripts/install-host-deps.sh): the tests never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function browserUnavailable(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (scripts/install-host-deps.sh installs Debian's chromium)`;
}

/** `npm ci` builds the dashboard (the prepare script); a checkout that skipped it builds it here. */
export function ensureDashboardBuilt(): void {
  if (existsSync(path.join(DASHBOARD_DIR, 'index.html'))) return;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'web/vite.config.ts'], { cwd: root, stdio: 'inherit' });
}

/**
 * Chromium, headless, with a fresh profile (its --user-data-dir, which Playwright passes for a
 * persistent context) that is thrown away afterwards. Each page has its own sessionStorage, so
 * each page is its own logged-in user.
 */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'orrery-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1366, height: 800 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
