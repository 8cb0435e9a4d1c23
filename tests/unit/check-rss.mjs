// Runs the openkey CLI like bin/openkey.mjs, then prints the process's peak RSS (kilobytes) on stdout, for the
// hardening suite's memory bound. `openkey check` prints nothing on stdout when a manifest fails.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../../builder/cli.ts');
const code = await main(process.argv.slice(2));
process.stdout.write(`maxrss=${process.resourceUsage().maxRSS}\n`);
process.exit(code);
