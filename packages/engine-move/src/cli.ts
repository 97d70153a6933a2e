/** The `engine-move` command (bin/engine-move.js imports this built file). */
import { main } from './cli/engine-move.js';

// `engine-move status | head` closes the pipe early: the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
