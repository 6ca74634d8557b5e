// Running a bench converter as a command (`npm run -s squad-to-beir -- …`): main() gets the arguments, and a
// failure prints its message and hint under the script's name and sets the exit code from the error catalogue.
// Importing the module (tests do) runs nothing.
import { toSieveError } from '../src/errors.js';
import { isEntryPoint } from '../src/util/entry.js';

export function runAsScript(moduleUrl: string, name: string, main: (argv: readonly string[]) => Promise<void>): void {
  if (!isEntryPoint(moduleUrl)) return;
  main(process.argv.slice(2)).catch((err: unknown) => {
    const error = toSieveError(err);
    process.stderr.write(`${name}: ${error.message}\n${error.hint}\n`);
    process.exitCode = error.exitCode;
  });
}
