// The `facepass` command's entry module: `node dist/src/bin.js` in production (the Docker image),
// reached through bin/facepass.js from a checkout.
import { runCli } from './cli.js';

await runCli(process.argv, process.env);
