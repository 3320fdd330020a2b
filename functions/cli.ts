/**
 * `tailwatch` command line: thin. Parses arguments, reads the config file, runs the shared
 * core through `runAndDeliver`, prints progress on stderr and a one-line error (exit 2) for
 * anything the user can fix.
 */
import { TABLE_NAMES } from '../lib/outputs/schema.js';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseConfig, ConfigError, type Config } from '../lib/config.js';
import { isUserError } from '../lib/errors.js';
import type { ProgressEvent } from '../lib/pipeline.js';
import { runAndDeliver } from './run.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

const USAGE = `usage:
  tailwatch run --input <file|dir|s3://bucket/prefix> --out <dir|s3://bucket/prefix>
                [--config <file.json>] [--as-of YYYY-MM-DD] [--send] [--force-send] [--quiet]
  tailwatch demo      run the whole pipeline on the embedded sample, against local S3 and SES emulators
  tailwatch bench     measure a 10-million-row run against DuckDB (writes bench/results.json)`;

export async function loadConfig(path: string | undefined): Promise<Config> {
  if (!path) return parseConfig({}, 'default config');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ConfigError(`config file not found or unreadable: ${path}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseConfig(raw, path);
}

/** A progress line on stderr: rewritten in place on a terminal, at most every 2 s otherwise. */
export function progressPrinter(quiet = false): (e: ProgressEvent) => void {
  if (quiet) return () => {};
  const tty = process.stderr.isTTY;
  const started = Date.now();
  let last = 0;
  let lastStage = '';
  return (e) => {
    const now = Date.now();
    const stageChanged = e.stage !== lastStage;
    if (!stageChanged && now - last < (tty ? 200 : 2000)) return;
    last = now;
    lastStage = e.stage;
    const secs = (now - started) / 1000;
    const rate = e.rows && secs > 0 ? `, ${Math.round(e.rows / secs).toLocaleString('en-US')} rows/s` : '';
    const rows = e.rows !== undefined ? ` ${e.rows.toLocaleString('en-US')} rows${rate}` : '';
    const line = `[${secs.toFixed(1)}s] ${e.stage}: ${e.message}${rows}`;
    process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    if (tty && e.stage !== 'ingest') process.stderr.write('\n');
  };
}

async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string' },
      out: { type: 'string' },
      config: { type: 'string' },
      'as-of': { type: 'string' },
      send: { type: 'boolean', default: false },
      'force-send': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.input) throw new UsageError('missing --input <file|dir|s3://bucket/prefix>');
  if (!values.out) throw new UsageError('missing --out <dir|s3://bucket/prefix>');
  const asOf = values['as-of'];
  if (asOf !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(asOf)) throw new UsageError(`--as-of "${asOf}": expected YYYY-MM-DD`);
  const config = await loadConfig(values.config);
  const { result, delivery } = await runAndDeliver({
    input: values.input,
    out: values.out,
    config,
    asOf,
    send: values.send || values['force-send'],
    forceSend: values['force-send'],
    onProgress: progressPrinter(values.quiet),
  });
  const root = values.out.replace(/\/+$/, '');
  process.stdout.write(
    [
      `tailwatch ${result.runDate}: ${result.summary}`,
      `report:  ${root}/runs/run_date=${result.runDate}/report.html (also report.txt, report.eml)`,
      `tables:  ${root}/{${TABLE_NAMES.join(',')}}/run_date=${result.runDate}/part-00000.parquet`,
      `email:   ${delivery.status === 'sent' ? `sent (message ${delivery.messageId})` : delivery.status === 'skipped' ? `not sent: ${delivery.reason}` : 'not sent (use --send)'}`,
      '',
    ].join('\n'),
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest);
      case 'demo': {
        const { demo } = await import('../scripts/demo.js');
        return await demo(rest);
      }
      case 'bench': {
        const { bench } = await import('../scripts/bench.js');
        return await bench(rest);
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    if (isUserError(e) || err.code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`\ntailwatch: ${err.message}\n`);
      if (err.name === 'UsageError' || err.code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`\ntailwatch: internal error: ${err.stack ?? err.message}\n`);
    return 1;
  }
}
