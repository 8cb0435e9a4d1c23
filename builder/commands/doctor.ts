import { hostTools, OTHER_USES, type HostTool } from '../doctor/host-tools.ts';
import { probeTool } from '../doctor/probe.ts';
import { loadManifest } from '../manifest/index.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { enabledStages, STAGES } from '../stages/registry.ts';
import type { Command } from './types.ts';

/** The tools the manifest's stages run (from the stage registry); with no manifest, every tool in the list. */
function neededTools(manifest: ResolvedManifest | undefined): HostTool[] {
  if (manifest === undefined)
    return hostTools([...STAGES.flatMap((s) => s.tools), ...Object.values(OTHER_USES).flat()]);
  return hostTools(enabledStages(manifest).flatMap((stage) => stage.tools));
}

export const command: Command = {
  name: 'doctor',
  help: `Usage: openkey doctor [manifest.yaml]

Checks every host tool a build needs (with a manifest: the tools its outputs need; without: every tool, including
those of the boot and browser tests), prints each one found or missing with its version, and the one apt-get line
that installs what is missing.

Exit codes: 0 everything needed is there, 1 something is missing, 2 bad arguments or manifest.
`,
  options: {},
  async run(args, io) {
    const [file] = args.positionals;
    const manifest = file === undefined ? undefined : (await loadManifest(file, io.cwd)).manifest;
    const statuses = await Promise.all(neededTools(manifest).map(probeTool));
    const nodeMajor = Number(process.versions.node.split('.')[0]);
    const width = Math.max(...statuses.map((status) => status.tool.program.length));
    io.out(`  ${'node'.padEnd(width)}  ${nodeMajor >= 20 ? 'ok     ' : 'TOO OLD'}  ${process.version} (needs ≥ 20)\n`);
    for (const status of statuses) {
      const mark = status.found ? 'ok     ' : 'MISSING';
      const detail = status.found
        ? status.version
        : `apt package ${status.tool.aptPackage}, for ${status.tool.purpose}`;
      io.out(`  ${status.tool.program.padEnd(width)}  ${mark}  ${detail}\n`);
    }
    const missingPackages = [
      ...new Set(statuses.filter((status) => !status.found).map((status) => status.tool.aptPackage)),
    ].sort();
    if (missingPackages.length > 0 || nodeMajor < 20) {
      if (missingPackages.length > 0)
        io.err(`\nmissing: install them with\n  apt-get install -y ${missingPackages.join(' ')}\n`);
      if (nodeMajor < 20) io.err('Node.js 20 or newer is needed (Debian trixie ships 20.19)\n');
      return 1;
    }
    io.out('\nall tools found\n');
    return 0;
  },
};
