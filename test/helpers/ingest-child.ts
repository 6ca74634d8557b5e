// Child process for the crash test: ingests the given paths into the given home, then exits.
import { openEngine } from '../../src/engine.js';

const [home, ...paths] = process.argv.slice(2);
const engine = await openEngine({ home: home!, llm: null, embed: { enabled: false } });
await engine.ingest(paths);
engine.close();
