import { defineConfig } from "vite";

// The desktop window loads ui/dist from the app bundle under a strict CSP
// (default-src 'self'): everything must be a same-origin file, nothing inline.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2021",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: { port: 1420, strictPort: true },
});
