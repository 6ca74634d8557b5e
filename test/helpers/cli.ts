// Runs the `sieve` CLI from source in a child process, as a user would, with no LLM configured.
// Asynchronously: vitest's worker answers its runner over an RPC with a fixed 60 s timeout, and a test that blocked
// its event loop in spawnSync for a minute (several CLI runs in a row on a loaded machine) failed a green run.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './tmp.js';

export interface SieveRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runSieve(home: string, ...args: string[]): Promise<SieveRun> {
  return runSieveWithEnv(home, {}, ...args);
}

/** The same, with environment variables set (or, as '', cleared) on top of the no-LLM environment. */
export function runSieveWithEnv(home: string, env: Record<string, string>, ...args: string[]): Promise<SieveRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), '--home', home, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, SIEVE_LLM_BASE_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
