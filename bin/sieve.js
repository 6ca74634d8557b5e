#!/usr/bin/env node
// Installed entry point (npm link / npm i -g): runs the compiled CLI built by `npm run build` (also run by `prepare`).
import('../dist/src/cli/main.js');
