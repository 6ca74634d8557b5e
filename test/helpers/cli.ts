// Runs the `sieve` CLI from source in a child process, as a user would, with no LLM configured.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './tmp.js';

export function runSieve(home: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  return runSieveWithEnv(home, {}, ...args);
}

/** The same, with environment variables set (or, as '', cleared) on top of the no-LLM environment. */
export function runSieveWithEnv(home: string, env: Record<string, string>, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), '--home', home, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, SIEVE_LLM_BASE_URL: '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
