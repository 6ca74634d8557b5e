#!/usr/bin/env node
// Installed entry point (npm link / npm i -g): runs the compiled CLI that `prepare` builds into dist/.
const { main, exitQuietlyOnClosedPipe } = await import('../dist/src/cli/main.js');
exitQuietlyOnClosedPipe(process.stdout);
process.exitCode = await main(process.argv);
