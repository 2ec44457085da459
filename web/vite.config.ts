import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// The console is served by the API process from web/dist (same origin: the session cookie is SameSite=Strict).
export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
});
