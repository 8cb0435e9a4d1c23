import { basename, dirname, resolve } from 'node:path';
import { parseCount } from '../../common/bench.ts';
import { UsageError } from '../../common/errors.ts';
import type { Command, CommandIo, ParsedArgs } from './types.ts';

const HELP = `Usage: openkey synth --process NAME --events N --out FILE [--schema atlas13-mini] [--seed S] [--compress L]

Generates a synthetic teaching ntuple: a ROOT file with the ATLAS 13 TeV open-data "mini" tree, filled with
physics-shaped toy events whose truth is known, and writes (or updates) dataset.json beside it with the sample's
labels: process, cross-section, data or simulation, and the hidden truth for teachers.

Options:
  --process NAME   zll | wlnu | ttbar | hyy | zz4l | data-mix
                     zll       Z → ee, μμ: the dilepton mass peaks at the Z mass
                     wlnu      W → eν, μν: the transverse mass has its Jacobian edge at the W mass
                     ttbar     top pairs: b-tagged jets, leptons, missing energy, boosted tops
                     hyy       a diphoton continuum with a Higgs boson hidden at 125 GeV
                     zz4l      ZZ → 4ℓ with the Higgs peak at 125 GeV
                     data-mix  all of the above in proportion to their cross-sections, labelled as data
  --events N       number of events (1 … 100000000; 250k, 10M and 1e6 are understood)
  --out FILE       the ROOT file to write; it appears only once complete
  --schema NAME    atlas13-mini (the only schema so far)
  --seed S         random seed (default 1): the same inputs give the same bytes
  --compress L     zlib level 1-9, or 0 for uncompressed baskets (default 1, ROOT's default)

Progress (percentage, events/s, ETA) goes to stderr; the summary (events/s, MB/s) to stdout.
Timestamps inside the file come from SOURCE_DATE_EPOCH when set.

Exit codes: 0 written, 1 failed or interrupted (nothing left behind), 2 bad arguments.
`;

function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

function formatRate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - 60 * minutes)} s`;
}

function progressReporter(
  io: CommandIo,
  label: string,
): (p: { events: number; total: number; elapsedMs: number }) => void {
  let lastDecile = -1;
  return ({ events, total, elapsedMs }) => {
    const fraction = events / total;
    const rate = events / Math.max(elapsedMs / 1000, 1e-6);
    const line = `${label}: ${(100 * fraction).toFixed(1)}%  ${events.toLocaleString('en-US')}/${total.toLocaleString('en-US')} events  ${formatRate(rate)} events/s  ETA ${formatDuration((total - events) / rate)}`;
    if (io.isTTY) {
      io.err(`\r${line}\x1b[K${events === total ? '\n' : ''}`);
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile !== lastDecile) {
      lastDecile = decile;
      io.err(line + '\n');
    }
  };
}

export const command: Command = {
  name: 'synth',
  help: HELP,
  options: {
    schema: { type: 'string' },
    process: { type: 'string' },
    events: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    compress: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length > 0)
      throw new UsageError(`unexpected argument "${args.positionals[0]}"`, 'openkey synth --help');
    const process = stringOption(args, 'process');
    const eventsText = stringOption(args, 'events');
    const out = stringOption(args, 'out');
    if (process === undefined)
      throw new UsageError('--process is required', 'one of zll, wlnu, ttbar, hyy, zz4l, data-mix');
    if (eventsText === undefined) throw new UsageError('--events is required', 'for example --events 100000');
    if (out === undefined) throw new UsageError('--out is required', 'for example --out out/zll.root');
    const level = parseCount(stringOption(args, 'compress') ?? '1', '--compress');
    if (level > 9) throw new UsageError(`--compress expects 0 to 9, got ${level}`);
    const spec = {
      schema: stringOption(args, 'schema') ?? 'atlas13-mini',
      process,
      events: parseCount(eventsText, '--events'),
      seed: parseCount(stringOption(args, 'seed') ?? '1', '--seed'),
    };

    const synth = await import('../synth/index.ts');
    const { process: processName } = synth.validateSpec(spec);
    const path = resolve(io.cwd, out);
    synth.checkOutputPath(path, out);
    const result = await synth.writeSyntheticFile(spec, path, {
      compression: level === 0 ? { algorithm: 'none', level: 0 } : { algorithm: 'zlib', level },
      onProgress: progressReporter(io, `synth ${processName}`),
      signal: io.signal,
      env: io.env,
    });
    const json = synth.updateDatasetJson(
      dirname(path),
      basename(path),
      result.entry,
      synth.datasetDefaults(processName),
    );
    const seconds = result.elapsedMs / 1000;
    io.out(
      `wrote ${out}: ${result.events.toLocaleString('en-US')} events, ${(result.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s ` +
        `(${formatRate(result.events / seconds)} events/s, ${(result.bytes / 1e6 / seconds).toFixed(1)} MB/s)\n`,
    );
    io.out(`updated ${json}\n`);
    return 0;
  },
};
