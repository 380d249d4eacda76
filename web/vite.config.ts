import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built by `npm run build:web` (the `prepare` script, so `npm ci` builds it) into web/dist,
// which the API process serves at `/` (server/dashboard.ts).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // GraphiQL's editor is big; it loads only on the explorer page.
    chunkSizeWarningLimit: 2000,
    rolldownOptions: {
      onwarn(warning, warn) {
        // GraphiQL's react-compiler-runtime says "use no memo", which only React's compiler reads.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE' && warning.id?.includes('react-compiler-runtime')) return;
        warn(warning);
      },
    },
  },
});
