/// <reference types="vitest/config" />
// The console's build (docs/web.md): `vite build` writes web/dist, which the
// gateway serves (HD_WEB_ROOT). Hashed bundles land in dist/assets/, which the
// gateway caches as immutable. `npm run dev` proxies /v1 to a local stack.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    // no inline script anywhere: the gateway's CSP is script-src 'self'
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    proxy: { "/v1": "http://127.0.0.1:8080" },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
