// The `blockwise` command: list drives, flash an image (to one or more drives), verify a drive.
// It drives the very same engine (in a worker thread) as the app and the browser host; when the user
// may not open the drive, through the elevated helper under sudo (privileges.ts).

// First: sizes libuv's thread pool before anything uses it (io-threads.ts).
import '../engine/io-threads';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseChecksumInput } from '../../shared/checksum-input';
import { BlockwiseError, describeError, serializeError, type SerializedError } from '../../shared/errors';
import type { FlashJob, FlashResult, SourceSpec, TargetSpec, VerifyResult } from '../../shared/flash-types';
import { EngineClient } from '../engine/engine-client';
import { planEngine, transportFor, type EnginePlan } from './privileges';
import { confirmTargets, resolveTargets } from './targets';
import { formatBytes } from '../../shared/format-bytes';
import { formatDuration, ProgressPrinter } from './terminal';
import { printDrives } from './list-command';
import { UsageError } from './usage-error';

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

const HELP = `Blockwise: write disk images to USB sticks and SD cards, verified.

Usage:
  blockwise list [--json] [--all]
  blockwise flash IMAGE --to DEVICE [--to DEVICE…] [options]
  blockwise verify IMAGE --against DEVICE [--json] [--full]

IMAGE is a file (.img .iso .raw .bin, or compressed .gz .xz .zst .bz2 .zip .tar .tar.xz …) or an http(s) URL.

flash options:
  --to DEVICE        target drive (repeat for several drives) or a regular file
  --yes              do not ask for confirmation
  --no-verify        skip reading the drive back after writing
  --full             write every byte, not only the blocks the image's filesystems use
  --sha256 HEX       expected SHA-256 of the image or of the file as downloaded
  --entry NAME       which image to write from an archive holding several
  --no-bmap          ignore a .bmap file beside the image
  --json             print one JSON object per line (progress, then done or error)

Exit codes: 0 written and verified, 1 failed, 2 bad arguments, 130 cancelled.
Loop devices are listed and accepted only with BLOCKWISE_INCLUDE_LOOP=1 (for tests).`;

/**
 * IMAGE as given: an http(s) address, a path, or a file:// address (what a browser shows for a
 * local file). Other schemes are refused by name, not looked for as a file that "does not exist".
 */
function imageSpec(image: string, entry: string | undefined): SourceSpec {
  const address = image.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(address)?.[1]?.toLowerCase();
  let spec: SourceSpec;
  if (scheme === 'http' || scheme === 'https') spec = { kind: 'url', url: address };
  else if (scheme === 'file') {
    try {
      spec = { kind: 'file', path: fileURLToPath(address) };
    } catch (error) {
      throw new UsageError(`${address} is not a file on this computer (${(error as Error).message})`);
    }
  } else if (scheme) {
    throw new UsageError(`${address}: Blockwise downloads only http:// and https:// addresses, not ${scheme}://. Download the file first and give its path`);
  } else spec = { kind: 'file', path: image };
  if (entry) spec.entry = entry;
  return spec;
}

function emitJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

function reportError(error: SerializedError, json: boolean): void {
  if (json) emitJson({ type: 'error', error });
  else process.stderr.write(`\nError: ${describeError(error, cliAdvice(error))}\n`);
}

/** What the app does with a click, said in this command's terms (in place of the app's advice). */
function cliAdvice(error: SerializedError): string | undefined {
  const entries = error.details?.entries;
  if (error.code === 'ARCHIVE_AMBIGUOUS' && typeof entries === 'string') {
    return `Choose one with --entry, e.g. --entry ${JSON.stringify(entries.split('\n')[0])}.`;
  }
  return undefined;
}

/** Errors the command's own arguments fix (which --entry to take), like the ones found before anything runs. */
const ARGUMENT_ERRORS = new Set(['ARCHIVE_AMBIGUOUS', 'ARCHIVE_ENTRY_NOT_FOUND']);

function exitCodeFor(error: SerializedError): number {
  if (error.code === 'CANCELLED') return EXIT.cancelled;
  return ARGUMENT_ERRORS.has(error.code) ? EXIT.usage : EXIT.failed;
}

/** Runs an engine job, wiring Ctrl-C to cancel, and always closing the worker. */
async function runJob<T>(plan: EnginePlan, start: (client: EngineClient) => { result: Promise<T>; cancel(): void }): Promise<T> {
  const client = new EngineClient(transportFor(plan));
  const job = start(client);
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\nCancelling… (press Ctrl-C again to force)\n');
      job.cancel();
    } else {
      process.exit(EXIT.cancelled);
    }
  };
  // SIGTERM (kill, systemd, a CI timeout) and SIGHUP (terminal closed) cancel like Ctrl-C does:
  // dying outright would skip the report and could leave an elevated helper writing.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  try {
    return await job.result;
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    await client.close();
  }
}

function printFlashSummary(result: FlashResult, verify: boolean): void {
  const seconds = result.durationMs / 1000;
  const lines = [
    '',
    result.imageSha256 ? `Image: ${formatBytes(result.imageSize)}, SHA-256 ${result.imageSha256}` : `Image: ${formatBytes(result.imageSize)}`,
    result.mappedBytes < result.imageSize
      ? `Wrote ${formatBytes(result.mappedBytes)} of ${formatBytes(result.imageSize)} (the rest is unused filesystem space)`
      : `Wrote ${formatBytes(result.mappedBytes)}`,
    `Took ${formatDuration(seconds)} (${formatBytes(result.imageSize / Math.max(seconds, 0.001))}/s effective)`,
  ];
  if (result.fileSha256 && result.fileSha256 !== result.imageSha256) lines.splice(2, 0, `File as stored: SHA-256 ${result.fileSha256}`);
  if (result.checksumVerified) lines.push(`Checksum: matches ${result.checksumPublishedIn ? `the SHA-256 published in ${result.checksumPublishedIn}` : 'the SHA-256 given'}`);
  else lines.push('Checksum: none published beside the image (give one with --sha256 to have the download checked)');
  for (const t of result.targets) {
    lines.push(t.ok ? `${t.path}: ${verify ? 'written and verified' : 'written (not verified)'}` : `${t.path}: FAILED: ${describeError(t.error!)}`);
  }
  process.stderr.write(lines.join('\n') + '\n');
}

async function flashCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      to: { type: 'string', multiple: true },
      yes: { type: 'boolean', short: 'y' },
      'no-verify': { type: 'boolean' },
      full: { type: 'boolean' },
      sha256: { type: 'string' },
      entry: { type: 'string' },
      'no-bmap': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('flash takes exactly one IMAGE');
  if (!values.to?.length) throw new UsageError('flash needs a target: --to DEVICE');
  // The same forms the app's checksum field takes: a bare hash, "sha256:HEX", a SHA256SUMS line.
  const checksum = values.sha256 === undefined ? undefined : parseChecksumInput(values.sha256);
  if (checksum?.kind === 'invalid' || checksum?.kind === 'none') {
    throw new UsageError(`--sha256 "${values.sha256}": ${checksum.kind === 'none' ? 'give the SHA-256 (64 hexadecimal digits)' : checksum.reason}`);
  }
  const json = values.json ?? false;
  const verify = !values['no-verify'];
  const source = imageSpec(positionals[0]!, values.entry);
  const targets: TargetSpec[] = await resolveTargets(values.to, source);
  // Resolved paths, so a drive named twice (also via a /dev/disk/by-id link) is caught here.
  const twice = targets.findIndex((t, i) => targets.findIndex((u) => u.path === t.path) !== i);
  if (twice >= 0) throw new UsageError(`--to ${values.to[twice]} names ${targets[twice]!.path}, which is already a target; name each drive once`);
  // Before the confirmation: a user who can't write the drive hears so first, with what to run.
  const plan = await planEngine(targets.map((t) => t.path), ['flash', ...argv], { interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY) });
  if (!values.yes) await confirmTargets(targets);

  const job: FlashJob = { source, targets, options: { verify, full: values.full ?? false } };
  if (checksum?.kind === 'valid') job.options.checksum = { algorithm: 'sha256', hex: checksum.hex, of: 'auto' };
  if (values['no-bmap']) job.options.bmapPath = null;

  const printer = json ? undefined : new ProgressPrinter(process.stderr);
  try {
    const result = await runJob(plan, (client) =>
      client.flash(job, (progress) => (json ? emitJson({ type: 'progress', progress }) : printer!.update(progress))),
    );
    printer?.finish();
    if (json) emitJson({ type: 'done', result });
    else printFlashSummary(result, verify);
    return result.targets.every((t) => t.ok) ? EXIT.ok : EXIT.failed;
  } catch (error) {
    printer?.finish();
    const serialized = serializeError(error);
    reportError(serialized, json);
    return exitCodeFor(serialized);
  }
}

async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { against: { type: 'string' }, json: { type: 'boolean' }, full: { type: 'boolean' }, entry: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('verify takes exactly one IMAGE');
  if (!values.against) throw new UsageError('verify needs a drive: --against DEVICE');
  const json = values.json ?? false;
  const source = imageSpec(positionals[0]!, values.entry);
  const [target] = await resolveTargets([values.against], source, { forReading: true });
  const plan = await planEngine([target!.path], ['verify', ...argv], { forReading: true, interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY) });
  const printer = json ? undefined : new ProgressPrinter(process.stderr);
  try {
    const result: VerifyResult = await runJob(plan, (client) =>
      client.verify({ source, target: target! }, (progress) => (json ? emitJson({ type: 'progress', progress }) : printer!.update(progress)), values.full ?? false),
    );
    printer?.finish();
    if (json) emitJson({ type: 'done', result });
    else process.stderr.write(`\n${target!.path} matches the image (${formatBytes(result.bytesCompared)} compared).\n`);
    return EXIT.ok;
  } catch (error) {
    printer?.finish();
    const serialized = serializeError(error);
    // Nothing was just written: the flash's advice ("did not keep what was written… counterfeit") would mislead.
    if (!json && serialized.code === 'VERIFY_MISMATCH') {
      process.stderr.write(
        `\nError: ${serialized.message} The drive does not hold this image: it holds another one, was changed since, or is failing (or the image file itself is damaged). To write this image, use blockwise flash.\n`,
      );
    } else reportError(serialized, json);
    return exitCodeFor(serialized);
  }
}

async function listCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, all: { type: 'boolean' } } });
  await printDrives({ json: values.json ?? false, all: values.all ?? false });
  return EXIT.ok;
}

const COMMAND_OPTIONS: Record<string, string[]> = {
  flash: ['--to', '--yes', '--no-verify', '--full', '--sha256', '--entry', '--no-bmap', '--json'],
  verify: ['--against', '--json', '--full', '--entry'],
  list: ['--json', '--all'],
};

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** Node's wording for an unknown option suggests "--" positionals; a typo wants the real options. */
function unknownOptionMessage(command: string | undefined, message: string): string {
  const given = /Unknown option '([^']+)'/.exec(message)?.[1];
  const known = COMMAND_OPTIONS[command ?? ''];
  if (!given || !known) return message;
  const closest = known.map((o) => [o, editDistance(given, o)] as const).sort((x, y) => x[1] - y[1])[0]!;
  const hint = closest[1] <= 2 ? ` (did you mean ${closest[0]}?)` : '';
  return `unknown option ${given} for ${command}${hint}; it takes ${known.join(', ')}`;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'list':
        return await listCommand(rest);
      case 'flash':
        return await flashCommand(rest);
      case 'verify':
        return await verifyCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP + '\n');
        return command === undefined ? EXIT.usage : EXIT.ok;
      case '--version':
        process.stdout.write(`${require('../../../package.json').version}\n`);
        return EXIT.ok;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith?.('ERR_PARSE_ARGS')) {
      const unknown = (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
      const message = unknown ? unknownOptionMessage(command, (error as Error).message) : (error as Error).message;
      process.stderr.write(`blockwise: ${message}\nRun "blockwise --help" for usage.\n`);
      // A program reading --json output gets the refusal as a line too, not only silence on stdout.
      if (argv.includes('--json')) emitJson({ type: 'error', error: { code: 'INVALID_REQUEST', message, details: { usage: true } } });
      return EXIT.usage;
    }
    if (error instanceof BlockwiseError) {
      const json = argv.includes('--json');
      reportError(error.toJSON(), json);
      return EXIT.failed;
    }
    throw error;
  }
}
