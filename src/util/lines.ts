// Reading a text file a line at a time, for files too large to hold whole (BEIR corpora run to gigabytes).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** Yields [1-based line number, line] for each line of a UTF-8 text file, streaming. */
export async function* readLines(filePath: string): AsyncGenerator<[number, string]> {
  const lines = createInterface({ input: createReadStream(filePath, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber += 1;
    yield [lineNumber, line];
  }
}
