// `sieve mcp`: serve the engine as a Model Context Protocol server over stdio (for Claude Desktop, Cursor, …).
// stdout belongs to the protocol; the command writes nothing else there.
import type { Command } from 'commander';

export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description('serve search, ask and feedback as MCP tools over stdio (for agent clients such as Claude Desktop or Cursor)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { home } = cmd.optsWithGlobals<{ home: string }>();
      // Loaded on use: the MCP SDK is not needed by any other command.
      const { runMcpStdio } = await import('../server/mcp.js');
      await runMcpStdio({ home });
    });
}
