/**
 * `npm start`: the embedded default. Starts a real S3 API and a real SES API on loopback
 * (child processes this command owns and stops), seeds the "exports" bucket with the sample
 * export in examples/, runs the same handler the Lambda runs, then downloads the tables, the
 * report and the email the SES API received into ./out/ and prints where they are.
 */
import { TABLE_NAMES } from '../lib/outputs/schema.js';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startEmulators } from './emulators.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SAMPLE = path.join(ROOT, 'examples', 'sample-export.csv.gz');
const SAMPLE_CONFIG = path.join(ROOT, 'examples', 'sample-config.json');

export async function demo(argv: string[] = []): Promise<number> {
  const outDir = path.resolve(argv.find((a) => !a.startsWith('-')) ?? path.join(ROOT, 'out'));
  const log = (m: string) => process.stderr.write(`${m}\n`);
  log('starting local S3 and SES APIs ...');
  const emu = await startEmulators();
  try {
    log(`S3 API at ${emu.s3Endpoint}, SES API at ${emu.sesEndpoint} (started in ${emu.startupMs} ms)`);
    const s3 = new S3Client({ endpoint: emu.s3Endpoint, region: emu.region, credentials: emu.credentials, forcePathStyle: true });
    for (const Bucket of ['exports', 'outputs']) await s3.send(new CreateBucketCommand({ Bucket }));
    const exportKey = 'sales/sample-export.csv.gz';
    await s3.send(new PutObjectCommand({ Bucket: 'exports', Key: exportKey, Body: await readFile(SAMPLE) }));
    log(`seeded s3://exports/${exportKey}`);

    const env: Record<string, string | undefined> = {
      ...process.env,
      ...emu.env,
      EXPORT_BUCKET: 'exports',
      EXPORT_PREFIX: 'sales/',
      OUTPUT_BUCKET: 'outputs',
      OUTPUT_PREFIX: 'tailwatch/',
      CONFIG_JSON: await readFile(SAMPLE_CONFIG, 'utf8'),
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    };
    // The handler reads its clients' endpoints from the environment, as in Lambda.
    Object.assign(process.env, emu.env, { POWERTOOLS_LOG_LEVEL: env.POWERTOOLS_LOG_LEVEL });
    const { handler } = await import('../functions/handler.js');
    log('running the pipeline handler (scheduled event) ...');
    const res = await handler({ source: 'tailwatch.schedule', scheduledTime: new Date().toISOString() }, env);

    await rm(outDir, { recursive: true, force: true });
    const files = await download(s3, 'outputs', 'tailwatch/', outDir);
    const store = await fetch(`${emu.sesEndpoint}/store`).then((r) => r.json() as Promise<{ emails?: unknown[] }>);
    await writeFile(path.join(outDir, 'ses-received.json'), JSON.stringify(store, null, 2));
    const runDir = path.join(outDir, 'runs', `run_date=${res.runDate}`);
    process.stdout.write(
      [
        '',
        `tailwatch demo: run ${res.runDate} on the sample export (${res.rows.read.toLocaleString('en-US')} rows: ${res.rows.accepted.toLocaleString('en-US')} accepted, ${res.rows.rejected} rejected, ${res.rows.duplicates} duplicates).`,
        `${res.customers.toLocaleString('en-US')} customers, ${res.alerts} value-loss warning(s); email ${res.email}; the local SES API received ${store.emails?.length ?? 0} message(s).`,
        '',
        `report:  ${path.relative(process.cwd(), path.join(runDir, 'report.html'))}  (also report.txt, report.eml)`,
        `tables:  ${path.relative(process.cwd(), outDir)}/{${TABLE_NAMES.join(',')}}/run_date=${res.runDate}/part-00000.parquet`,
        `run:     ${path.relative(process.cwd(), path.join(runDir, 'manifest.json'))}, model.json, rejects.csv`,
        `email:   ${path.relative(process.cwd(), path.join(outDir, 'ses-received.json'))} (what the SES API received)`,
        `${files} files downloaded from s3://outputs/tailwatch/ to ${path.relative(process.cwd(), outDir) || '.'}/`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await emu.stop();
  }
}

async function download(s3: S3Client, Bucket: string, Prefix: string, dir: string): Promise<number> {
  let token: string | undefined;
  let n = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const rel = o.Key!.slice(Prefix.length);
      if (rel.startsWith('_staging/')) continue;
      const body = await s3.send(new GetObjectCommand({ Bucket, Key: o.Key! }));
      const file = path.join(dir, rel);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, await body.Body!.transformToByteArray());
      n++;
    }
    token = page.NextContinuationToken;
  } while (token);
  return n;
}
