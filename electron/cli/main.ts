// The `blockwise` command: list drives, flash an image (to one or more drives), verify a drive,
// check a drive for fake capacity, back a drive up to an image file.
// It drives the very same engine as the app and the browser host, in a process of its own
// (engine-process.ts: so that the command can end while a silent drive holds a write); when the
// user may not open the drive, through the elevated helper under sudo (privileges.ts).

import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseChecksumInput } from '../../shared/checksum-input';
import { describeCapacityCheck } from '../../shared/capacity-words';
import { BlockwiseError, serializeError, type SerializedError } from '../../shared/errors';
import type { FlashJob, FlashProgress, SourceSpec, TargetSpec, VerifyResult } from '../../shared/flash-types';
import { backupCompression } from '../engine/backup';
import { EngineClient, silentDrives, type RunningJob, type SilentDrive } from '../engine/engine-client';
import type { EngineTransport } from '../engine/protocol';
import { EngineStart, planEngine } from './privileges';
import { emitJson, flashOutcomeJson, nameSilentDrives, printFlashSummary, reportError } from './report';
import { confirmTargets, resolveTargets, TargetRefusal } from './targets';
import { formatBytes } from '../../shared/format-bytes';
import { ProgressPrinter } from './terminal';
import { catalogCommand } from './catalog-command';
import { printDrives } from './list-command';
import { UsageError } from './usage-error';

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

const HELP = `Blockwise: write disk images to USB sticks and SD cards, verified.

Usage:
  blockwise list [--json] [--all]
  blockwise flash IMAGE --to DEVICE [--to DEVICE…] [options]
  blockwise verify IMAGE --against DEVICE [--json] [--full]
  blockwise check DEVICE [--json]      is the drive's capacity real? (puts its data back)
  blockwise backup DEVICE --to FILE [--no-verify] [--json]
                                       copy a drive into FILE: .img, or compressed
                                       .img.gz / .img.zst / .img.xz (checked by decompressing)
  blockwise catalog [URL] [--json]     the images a catalog lists, with the command to flash each
                                       (default: Raspberry Pi's; Raspberry Pi Imager's JSON format)

IMAGE is a file (.img .iso .raw .bin, or compressed .gz .xz .zst .bz2 .zip .tar .tar.xz …) or an http(s) URL.

flash options:
  --to DEVICE        target drive (repeat for several drives) or a regular file
  --yes              do not ask for confirmation
  --no-verify        skip reading the drive back after writing
  --full             write every byte, not only the blocks the image's filesystems use
  --sha256 HEX       expected SHA-256 of the image or of the file as downloaded
  --entry NAME       which image to write from an archive holding several
  --no-bmap          ignore a .bmap file beside the image
  --json             print one JSON object per line: progress…, then done when every
                     target was written, else error (with the result when some were)

Exit codes: 0 done (flash: written and verified; check: no sign of fake capacity), 1 failed
(check: counterfeit or failing), 2 bad arguments, 130 cancelled.
Loop devices are listed and accepted only with BLOCKWISE_INCLUDE_LOOP=1 (for tests).`;

/**
 * IMAGE as given: an http(s) address, a path, or a file:// address (what a browser shows for a
 * local file). Other schemes are refused by name, not looked for as a file that "does not exist".
 */
function imageSpec(image: string, entry: string | undefined): SourceSpec {
  const address = image.trim();
  // file:/path (one slash, as RFC 8089 allows and some programs copy it) is a file:// address too.
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(address)?.[1]?.toLowerCase() ?? (/^file:\//i.test(address) ? 'file' : undefined);
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
  } else spec = { kind: 'file', path: localImagePath(image) };
  if (entry) spec.entry = entry;
  return spec;
}

/**
 * A path as typed, refused at once where it cannot be what was meant: "" (an unset shell variable),
 * "-" (a pipe: no size to check the drive against, nothing to read back), and a quoted ~ that no
 * shell expanded. Each used to end in "Cannot open image …: it does not exist".
 */
function localImagePath(image: string): string {
  if (image.trim() === '') throw new UsageError('IMAGE is empty (an unset variable?): give the path of the image file');
  if (image === '-') throw new UsageError('IMAGE "-": Blockwise does not read the image from standard input (a pipe has no size to check the drive against); save it to a file and give its path');
  const tilde = /^~(?=\/|$)/.exec(image);
  if (tilde && !existsSync(image)) {
    // Under sudo this process's home is root's, not the person's: no example then.
    const example = process.env.SUDO_USER ? '' : ` (${path.join(os.homedir(), image.slice(1))})`;
    throw new UsageError(`${image}: ~ means your home folder only where the shell expands it, and it does not inside quotes; give the full path${example}`);
  }
  return image;
}

/** Errors the command's own arguments fix (which --entry to take), like the ones found before anything runs. */
const ARGUMENT_ERRORS = new Set(['ARCHIVE_AMBIGUOUS', 'ARCHIVE_ENTRY_NOT_FOUND']);

function exitCodeFor(error: SerializedError): number {
  if (error.code === 'CANCELLED') return EXIT.cancelled;
  return ARGUMENT_ERRORS.has(error.code) ? EXIT.usage : EXIT.failed;
}

/** Runs a command's checks while its engine's process starts; lets that process go if they stop the command. */
async function prepared<T>(engine: EngineStart, checks: () => Promise<T>): Promise<T> {
  try {
    return await checks();
  } catch (error) {
    engine.discard();
    throw error;
  }
}

/**
 * Runs an engine job, wiring Ctrl-C to cancel, and always closing the engine. Progress goes to
 * `show`; a failure goes through `explain` with the drives the latest progress said were silent.
 */
async function runJob<T>(
  transport: EngineTransport,
  explain: (error: SerializedError, silent: SilentDrive[]) => SerializedError,
  start: (client: EngineClient, onProgress: (progress: FlashProgress) => void) => RunningJob<T>,
  show: (progress: FlashProgress) => void,
  /** What a second Ctrl-C leaves behind, said as the command ends without waiting for the cancel. */
  forced: string,
): Promise<T> {
  const client = new EngineClient(transport);
  let silent: SilentDrive[] = [];
  const job = start(client, (progress) => {
    silent = silentDrives(progress, silent);
    show(progress);
  });
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\nCancelling… (press Ctrl-C again to force)\n');
      job.cancel();
    } else {
      // It used to end in silence after "Cancelling…": a check still putting a card's data back
      // looked finished, and the card was pulled out.
      process.stderr.write(`\n${forced}\n`);
      process.exit(EXIT.cancelled);
    }
  };
  // SIGTERM (kill, systemd, a CI timeout) and SIGHUP (terminal closed) cancel like Ctrl-C does:
  // dying outright would skip the report and could leave an elevated helper writing.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  let unanswered = false;
  try {
    return await job.result;
  } catch (error) {
    const explained = explain(serializeError(error), silent);
    unanswered = explained.details?.unresponsive === true;
    throw new BlockwiseError(explained.code, explained.message, explained.details ?? {});
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    // A drive that does not answer holds the engine's process in the kernel: the command reports
    // and ends without waiting for it (engine-process.ts).
    const closed = client.close();
    if (!unanswered) await closed;
  }
}

/**
 * The one IMAGE a flash or verify takes, or a usage error that says what was given instead. The
 * usual slip, `blockwise flash os.img /dev/sdb` without --to, was only "takes exactly one IMAGE".
 */
function oneImage(command: 'flash' | 'verify', positionals: string[], drives: string[] | undefined): string {
  const flag = command === 'flash' ? '--to' : '--against';
  if (positionals.length === 0) throw new UsageError(`${command} needs an IMAGE: blockwise ${command} IMAGE ${flag} DEVICE`);
  if (positionals.length === 1) return positionals[0]!;
  const [image, ...rest] = positionals;
  const shown = positionals.length > 4 ? `${positionals.slice(0, 4).join(', ')}, …` : positionals.join(', ');
  const given = `${command} takes one IMAGE, but was given ${positionals.length}: ${shown}`;
  if (!drives?.length && rest.length === 1) {
    throw new UsageError(`${given}. To ${command === 'flash' ? 'write to' : 'compare with'} ${rest[0]}, give it with ${flag}: blockwise ${command} ${image} ${flag} ${rest[0]}`);
  }
  // Several images (a shell pattern like *.img expands to every match): one run writes one image.
  throw new UsageError(`${given}. Run it once for each image`);
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
  const image = oneImage('flash', positionals, values.to);
  if (!values.to?.length) throw new UsageError('flash needs a target: --to DEVICE');
  // The same forms the app's checksum field takes: a bare hash, "sha256:HEX", a SHA256SUMS line.
  // A whole SHA256SUMS given ("$(cat SHA256SUMS)") gives the line naming the image's file.
  const imageName = path.basename(image.replace(/[?#].*$/, ''));
  const checksum = values.sha256 === undefined ? undefined : parseChecksumInput(values.sha256, imageName);
  if (checksum?.kind === 'invalid' || checksum?.kind === 'none') {
    const given = values.sha256!.includes('\n') ? `(${values.sha256!.trim().split(/\r?\n/).length} lines)` : `"${values.sha256}"`;
    throw new UsageError(`--sha256 ${given}: ${checksum.kind === 'none' ? 'give the SHA-256 (64 hexadecimal digits)' : checksum.reason}`);
  }
  const json = values.json ?? false;
  const verify = !values['no-verify'];
  const source = imageSpec(image, values.entry);
  const to = values.to;
  const engine = new EngineStart();
  const { targets, plan } = await prepared(engine, async () => {
    for (const given of to) await refuseCompressedName(given);
    const targets: TargetSpec[] = await resolveTargets(to, source);
    // Resolved paths, so a drive named twice (also via a /dev/disk/by-id link) is caught here.
    // An image file given twice under two names (a symbolic or hard link) is one file too.
    const keys = await Promise.all(targets.map((t) => fsp.stat(t.path).then((s) => (s.isFile() ? `file ${s.dev}:${s.ino}` : t.path), () => t.path)));
    const twice = keys.findIndex((k, i) => keys.indexOf(k) !== i);
    if (twice >= 0 && keys[twice]!.startsWith('file ')) {
      throw new UsageError(`--to ${to[twice]} is the same file as --to ${to[keys.indexOf(keys[twice]!)]}; name each file once`);
    }
    if (twice >= 0) throw new UsageError(`--to ${to[twice]} names ${targets[twice]!.path}, which is already a target; name each drive once`);
    // Before the confirmation: a user who can't write the drive hears so first, with what to run.
    const plan = await planEngine(targets.map((t) => t.path), ['flash', ...argv], { interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY) });
    if (!values.yes) await confirmTargets(targets);
    return { targets, plan };
  });

  const job: FlashJob = { source, targets, options: { verify, full: values.full ?? false } };
  if (checksum?.kind === 'valid') job.options.checksum = { algorithm: 'sha256', hex: checksum.hex, of: 'auto' };
  if (values['no-bmap']) job.options.bmapPath = null;

  const printer = json ? undefined : new ProgressPrinter(process.stderr);
  const paths = targets.map((t) => t.path);
  try {
    const explain = (error: SerializedError, silent: SilentDrive[]) => nameSilentDrives(error, silent, paths);
    const result = await runJob(
      engine.transportFor(plan),
      explain,
      (client, onProgress) => client.flash(job, onProgress),
      (progress) => (json ? emitJson({ type: 'progress', progress }) : printer!.update(progress)),
      `Stopped without waiting for the cancel to end: ${paths.length > 1 ? 'the drives are' : `${paths[0]} is`} incomplete and will not boot (the cancel finishes in the background). Flash ${paths.length > 1 ? 'them' : 'it'} again before using ${paths.length > 1 ? 'them' : 'it'}.`,
    );
    const ok = result.targets.every((t) => t.ok);
    printer?.finish(ok);
    if (json) emitJson(flashOutcomeJson(result));
    else printFlashSummary(result, verify);
    return ok ? EXIT.ok : EXIT.failed;
  } catch (error) {
    printer?.finish(false);
    const serialized = serializeError(error);
    reportError(serialized, json, { targetCount: paths.length });
    return exitCodeFor(serialized);
  }
}

/** A file target named like a compressed file would hold an uncompressed image under that name. */
async function refuseCompressedName(given: string): Promise<void> {
  if (!/\.(gz|xz|zst|bz2|zip|7z|lz4|tgz)$/i.test(given)) return;
  if (await fsp.stat(given).then((s) => s.isBlockDevice(), () => false)) return;
  throw new UsageError(
    `--to ${given}: a flash writes the image as it is, so this file would hold an uncompressed image under a compressed name. Name it NAME.img; to save a drive as a compressed image, use: blockwise backup DEVICE --to ${given}`,
  );
}

async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { against: { type: 'string' }, json: { type: 'boolean' }, full: { type: 'boolean' }, entry: { type: 'string' } },
  });
  const image = oneImage('verify', positionals, values.against === undefined ? undefined : [values.against]);
  if (!values.against) throw new UsageError('verify needs a drive: --against DEVICE');
  const json = values.json ?? false;
  const source = imageSpec(image, values.entry);
  const against = values.against;
  const engine = new EngineStart();
  const { target, plan } = await prepared(engine, async () => {
    const [target] = await resolveTargets([against], source, { forReading: true });
    const plan = await planEngine([target!.path], ['verify', ...argv], { forReading: true, interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY) });
    return { target, plan };
  });
  const printer = json ? undefined : new ProgressPrinter(process.stderr);
  try {
    const result: VerifyResult = await runJob(
      engine.transportFor(plan),
      (error) => error,
      (client, onProgress) => client.verify({ source, target: target! }, onProgress, values.full ?? false),
      (progress) => (json ? emitJson({ type: 'progress', progress }) : printer!.update(progress)),
      `Stopped without waiting for the comparison to end. Nothing was written to ${target!.path}.`,
    );
    printer?.finish(true);
    if (json) emitJson({ type: 'done', result });
    else process.stderr.write(`\n${target!.path} matches the image (${formatBytes(result.bytesCompared)} compared).\n`);
    return EXIT.ok;
  } catch (error) {
    printer?.finish(false);
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

async function checkCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new UsageError('check takes exactly one DEVICE, the drive to check (see "blockwise list")');
  const json = values.json ?? false;
  const given = positionals[0]!;
  const engine = new EngineStart();
  const { target, plan } = await prepared(engine, async () => {
    const stat = await fsp.stat(given).catch(() => undefined);
    if (!stat) throw new TargetRefusal('TARGET_NOT_FOUND', `${given} does not exist: no drive is connected under that name. Run "blockwise list" to see the drives.`, { path: given });
    if (!stat.isBlockDevice()) throw new TargetRefusal('TARGET_NOT_ALLOWED', `${given} is not a drive: only a drive's capacity can be checked. Run "blockwise list" to see the drives.`, { path: given });
    const [target] = await resolveTargets([given], { kind: 'file', path: '' }).catch((error: unknown) => {
      // A partition: the refusal's words are a flash's ("--to", "everything on it is erased").
      const drive = error instanceof TargetRefusal && error.code === 'TARGET_NOT_ALLOWED' ? error.details.drive : undefined;
      if (typeof drive !== 'string') throw error;
      throw new TargetRefusal('TARGET_NOT_ALLOWED', `${given} is a partition of ${drive}: a check tests a whole drive. Check that one: blockwise check ${drive} (its data is put back).`, { path: given, drive });
    });
    const plan = await planEngine([target!.path], ['check', ...argv], { interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY) });
    return { target: target!, plan };
  });
  let shown = -1;
  let saidSilent = false;
  try {
    const result = await runJob(
      engine.transportFor(plan),
      (error) => error,
      (client, onProgress) => client.check(target.path, onProgress),
      (progress) => {
        if (json) return emitJson({ type: 'progress', progress });
        // Once the engine has the drive open and works on it: a drive it refuses (busy, read-only,
        // too small) was never "being written with test blocks".
        if (shown < 0) process.stderr.write(`Checking ${target.path}: writing test blocks across it and reading them back. Its data is put back at the end: keep it plugged in until then.\n`);
        const percent = Math.floor(progress.percent ?? 0);
        const silent = progress.targets[0]?.stalledSeconds;
        if (silent !== undefined) {
          // Once, and again should it fall silent again after answering.
          if (!saidSilent) process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}${target.path} has not responded for ${silent} s; still waiting (Ctrl-C stops the check and puts back what it can).\n`);
          saidSilent = true;
        } else saidSilent = false;
        if (process.stderr.isTTY && percent !== shown) process.stderr.write(`\r${percent}%`);
        shown = percent;
      },
      `Stopped without waiting: the check is still putting ${target.path}'s own data back in the background. Keep it plugged in for a few more seconds.`,
    );
    const words = describeCapacityCheck(result);
    if (json) emitJson({ type: 'done', result, ok: words.ok, message: words.headline });
    else process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}${words.ok ? 'OK' : 'Problem'}: ${words.headline}\n${words.detail}\n`);
    return words.ok ? EXIT.ok : EXIT.failed;
  } catch (error) {
    const serialized = serializeError(error);
    // A cancel's and a too-small drive's words say what to do; a flash's advice ("flash it again", "pick a removable drive") does not fit.
    reportError(serialized, json, serialized.code === 'CANCELLED' || serialized.details?.tooSmall === true ? { advice: '' } : {});
    return exitCodeFor(serialized);
  }
}

async function backupCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { to: { type: 'string' }, 'no-verify': { type: 'boolean' }, json: { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new UsageError('backup takes exactly one DEVICE, the drive to copy (see "blockwise list")');
  if (!values.to) throw new UsageError('backup needs a file to save to: --to FILE (NAME.img, or compressed NAME.img.gz, NAME.img.zst, NAME.img.xz)');
  const compression = backupCompression(values.to);
  if (typeof compression !== 'string') {
    // A folder given (--to ~/backups): the file to give in it, not only how backups are named.
    if (await fsp.stat(values.to).then((s) => s.isDirectory(), () => false)) {
      const name = positionals[0] ? `${path.basename(positionals[0])}.img.zst` : 'card.img.zst';
      throw new UsageError(`--to ${values.to} is a folder: give the backup's file in it, e.g. --to ${path.join(values.to, name)} (NAME.img, .img.gz, .img.zst or .img.xz)`);
    }
    throw new UsageError(compression.refused);
  }
  const json = values.json ?? false;
  const device = positionals[0]!;
  const output = path.resolve(values.to);
  const engine = new EngineStart();
  const plan = await prepared(engine, async () => {
    const stat = await fsp.stat(device).catch(() => undefined);
    if (!stat) throw new TargetRefusal('TARGET_NOT_FOUND', `${device} does not exist: no drive is connected under that name. Run "blockwise list" to see the drives.`, { path: device });
    if (!stat.isBlockDevice()) throw new TargetRefusal('TARGET_NOT_ALLOWED', `${device} is not a drive: only a drive can be backed up (to copy a file, use cp).`, { path: device });
    // Never through the elevated helper: it would write the file as root. Without the right to
    // read the drive, the command to run as root is printed instead.
    return planEngine([device], ['backup', ...argv], { forReading: true, interactive: false });
  });
  const printer = json ? undefined : new ProgressPrinter(process.stderr);
  let started = false;
  try {
    const result = await runJob(
      engine.transportFor(plan),
      (error) => error,
      (client, onProgress) => client.backup({ device, output, verify: !values['no-verify'] }, onProgress),
      (progress) => {
        if (json) return emitJson({ type: 'progress', progress });
        // The bar says "Writing" (the file): said first, once the engine has the drive, that the drive itself is only read.
        if (!started) process.stderr.write(`Copying ${device} into ${output}: the drive is only read.\n`);
        started = true;
        printer!.update(progress);
      },
      `Stopped without waiting for the cancel to end: nothing is saved (the unfinished ${path.basename(output)}.partial is removed once the copy stops). ${device} was only read.`,
    );
    printer?.finish(true);
    if (json) emitJson({ type: 'done', result });
    else {
      const ratio = result.compression === 'none' ? '' : ` (${formatBytes(result.storedSize)} compressed, ${((100 * result.storedSize) / Math.max(1, result.imageSize)).toFixed(0)}% of the drive)`;
      process.stderr.write(
        `\nSaved ${result.output}: ${formatBytes(result.imageSize)} from ${result.device}${ratio}.\n` +
          `SHA-256 of the image: ${result.sha256}${(await fsp.readFile(`${result.output}.sha256`, 'utf8').catch(() => '')).startsWith(result.sha256) ? ` (also in ${path.basename(result.output)}.sha256)` : ''}.\n` +
          (result.verified ? 'Checked: the file decompresses to exactly what was read from the drive.\n' : 'Not checked (--no-verify).\n') +
          // Quoted where a shell would split or expand it: the line is meant to be copied.
          `Restore it with: blockwise flash ${/^[\w@%+=:,./-]+$/.test(result.output) ? result.output : `'${result.output.replace(/'/g, `'\\''`)}'`} --to DEVICE\n`,
      );
    }
    return EXIT.ok;
  } catch (error) {
    printer?.finish(false);
    const serialized = serializeError(error);
    // The drive was only read: the flash's words for a failure ("flash it again", "incomplete") do not apply.
    reportError(serialized, json, { advice: '' });
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
  check: ['--json'],
  backup: ['--to', '--no-verify', '--json'],
  list: ['--json', '--all'],
  catalog: ['--json'],
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
      case 'check':
        return await checkCommand(rest);
      case 'backup':
        return await backupCommand(rest);
      case 'catalog':
        await catalogCommand(rest);
        return EXIT.ok;
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
      // A refusal of the arguments says what to do itself; the table's advice is for failures.
      reportError(error.toJSON(), json, error instanceof TargetRefusal ? { advice: '' } : {});
      return error.code === 'CANCELLED' ? EXIT.cancelled : EXIT.failed;
    }
    throw error;
  }
}

// `node dist/electron/cli/main.js …` runs the command as bin/blockwise.js does: it used to load
// this module, do nothing and exit 0, which reads as success to a script or a person.
if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error && error.stack ? error.stack : String(error));
      process.exit(70);
    },
  );
}
