import { defineConfig } from 'vitest/config';

const LIBVIRT = ['test/libvirt-*.test.ts'];

export default defineConfig({
  // graphql ships ESM and CJS builds; one copy only, or its instanceof checks fail across them.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        // Files run two at a time (two cores); each gets its own database cloned from a template.
        test: { name: 'control-plane', include: ['test/**/*.test.ts'], exclude: LIBVIRT, maxWorkers: 2 },
      },
      {
        extends: true,
        // Real guests share one libvirtd (one file restarts it) and cost CPU: one file at a time.
        test: { name: 'libvirt', include: LIBVIRT, fileParallelism: false },
      },
    ],
  },
});
