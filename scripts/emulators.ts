/**
 * Local S3 and SES APIs for the embedded default and the tests: s3rver 3.7.1 and
 * aws-ses-v2-local 2.10.2, each run as a child process that the caller owns, on a free
 * loopback port. Nothing is patched; clients are configured to talk to them instead
 * (endpoint, forcePathStyle, fake credentials, region) — see `env`.
 *
 * The children are tied to this process twice: `stop()` and this process's 'exit' kill
 * them, and each child also exits when its stdin pipe closes, which the OS does when this
 * process dies for any reason (even SIGKILL), so no emulator outlives its owner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export interface EmulatorCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Emulators {
  s3Endpoint: string;
  sesEndpoint: string;
  region: string;
  /** s3rver accepts only its built-in account S3RVER/S3RVER; it does not verify SigV4 signatures. */
  credentials: EmulatorCredentials;
  /** The standard AWS env vars that point any SDK client (or a child `tailwatch` process) at the emulators. */
  env: Record<string, string>;
  /** s3rver's data directory (objects live here as files). */
  s3DataDir: string;
  /** Milliseconds from spawn until both emulators answered HTTP. */
  startupMs: number;
  /** Kills the S3 emulator (SIGKILL: as abrupt as a lost network); its data stays on disk. */
  stopS3(): Promise<void>;
  /** Starts the S3 emulator again on the same port and data directory. */
  startS3Again(): Promise<void>;
  /** Kills both emulators and removes the temporary data directory (if we created it). */
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** s3rver data directory; a fresh temp dir (removed on stop) when omitted. */
  dir?: string;
  /** Ms to wait for each emulator to answer before failing (default 20 s). */
  startTimeoutMs?: number;
}

export const EMULATOR_CREDENTIALS: EmulatorCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const EMULATOR_REGION = 'us-east-1';

const require = createRequire(import.meta.url);

function packageBin(pkg: string, rel: string): string {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), rel);
}

/**
 * Runs the given CLI script after arranging for the process to exit when its stdin closes
 * (the parent died). `process.argv` is rebuilt so the CLI sees `node <script> ...args`.
 */
const WATCHDOG = `
const script = process.argv[1];
process.argv = [process.argv[0], script, ...process.argv.slice(2)];
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
require(script);
`;

/** A free TCP port on 127.0.0.1 (the OS picks it; tiny race until the child binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True once something answers HTTP at the URL (any status counts: it is up). */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: kill() is.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

interface Child {
  proc: ChildProcess;
  output: () => string;
}

function spawnEmulator(name: string, nodeArgs: string[], script: string, args: string[]): Child {
  const proc = spawn(process.execPath, [...nodeArgs, '-e', WATCHDOG, script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, SMTP_TRANSPORT: '' }, // aws-ses-v2-local would relay mail over SMTP if set
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  // Drain output (a full pipe would block the child) and keep its tail for error messages.
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.stdin?.on('error', () => {}); // EPIPE if the child is already gone
  proc.on('error', (err) => keep(Buffer.from(`\n${name}: ${err.message}`)));
  return { proc, output: () => tail };
}

async function waitUntilAnswering(name: string, child: Child, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`${name} exited during start-up (code ${child.proc.exitCode ?? child.proc.signalCode}): ${child.output().trim()}`);
    }
    if (await answers(url)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  await kill(child.proc);
  throw new Error(`${name} did not answer at ${url} within ${timeoutMs} ms: ${child.output().trim()}`);
}

function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

export async function startEmulators(opts: EmulatorOptions = {}): Promise<Emulators> {
  installExitHook();
  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  const ownsDir = !opts.dir;
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'tailwatch-s3rver-')));
  const [s3Port, sesPort] = await Promise.all([freePort(), freePort()]);
  const s3Endpoint = `http://127.0.0.1:${s3Port}`;
  const sesEndpoint = `http://127.0.0.1:${sesPort}`;
  const s3Script = packageBin('s3rver', 'bin/s3rver.js');
  const sesScript = packageBin('aws-ses-v2-local', 'dist/cli.js');

  // s3rver's ListObjectsV2 continuation tokens use a cipher OpenSSL 3 disables by default.
  const startS3 = () =>
    spawnEmulator('s3rver', ['--openssl-legacy-provider'], s3Script, [
      '--directory', dir, '--address', '127.0.0.1', '--port', String(s3Port), '--silent',
    ]);

  const t0 = performance.now();
  let s3 = startS3();
  const ses = spawnEmulator('aws-ses-v2-local', [], sesScript, ['--host', '127.0.0.1', '--port', String(sesPort)]);
  try {
    await Promise.all([
      waitUntilAnswering('s3rver', s3, `${s3Endpoint}/`, timeoutMs),
      waitUntilAnswering('aws-ses-v2-local', ses, `${sesEndpoint}/health-check`, timeoutMs),
    ]);
  } catch (err) {
    await Promise.all([kill(s3.proc), kill(ses.proc)]);
    if (ownsDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const startupMs = Math.round(performance.now() - t0);

  let stopped = false;
  return {
    s3Endpoint,
    sesEndpoint,
    region: EMULATOR_REGION,
    credentials: { ...EMULATOR_CREDENTIALS },
    env: {
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_ENDPOINT_URL_SES: sesEndpoint,
      AWS_REGION: EMULATOR_REGION,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    },
    s3DataDir: dir,
    startupMs,
    stopS3: () => kill(s3.proc),
    async startS3Again() {
      if (stopped) throw new Error('emulators were stopped');
      if (s3.proc.exitCode === null && s3.proc.signalCode === null) return;
      s3 = startS3();
      await waitUntilAnswering('s3rver', s3, `${s3Endpoint}/`, timeoutMs);
    },
    async stop() {
      stopped = true;
      await Promise.all([kill(s3.proc), kill(ses.proc)]);
      if (ownsDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

// `npx tsx scripts/emulators.ts`: run both until Ctrl-C, printing the env to use them.
if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  const emu = await startEmulators();
  console.log(`emulators up in ${emu.startupMs} ms`);
  for (const [k, v] of Object.entries(emu.env)) console.log(`export ${k}=${v}`);
  const shutdown = () => void emu.stop().then(() => process.exit(0));
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
