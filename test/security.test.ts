/**
 * What must not leak or be injectable: recipients come only from config, hostile segment names
 * stay text in the HTML and CSVs, logs carry no customer data, and production dependencies have
 * no high or critical advisory.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAndDeliver } from '../functions/run.js';
import { layout } from '../lib/outputs/schema.js';
import { clearEmails, receivedEmails, useEmulators } from './helpers/emulators.js';
import { corruptAmounts, gz, LEADERSHIP, ROOT, RUN_DATE, SAMPLE_EXPORT, sampleConfig, sampleConfigInput, sampleCsv, smallCsv } from './helpers/runs.js';

const emu = useEmulators();
const SCRIPT = '<script>alert(1)</script>';
const FORMULA = '=HYPERLINK("http://x")';
const EMAIL_IN_DATA = 'attacker@evil.example';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tailwatch-security-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** The small export with hostile dimension values, a customer id that looks like an address, and a hostile rejected row. */
function hostileCsv(): string {
  const lines = smallCsv(21).trimEnd().split('\n');
  const header = lines[0].split(',');
  const [region, channel, customer] = ['region', 'channel', 'customer_id'].map((c) => header.indexOf(c));
  const body = lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells[region] === 'APAC') cells[region] = q(SCRIPT);
    if (cells[region] === 'LATAM') cells[region] = EMAIL_IN_DATA;
    if (cells[channel] === 'app') cells[channel] = q(FORMULA);
    if (i === 5) cells[customer] = 'victim@evil.example';
    return cells.join(',');
  });
  // Rejected (amount is not a number); its raw text goes to rejects.csv.
  body.push('=1+2,C999999,2026-10-30,@SUM(A1),1.00,NA,web,USD');
  return [lines[0], ...body].join('\n') + '\n';
}

/** The cells of an RFC 4180 CSV text, unquoted. */
function csvCells(csv: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < csv.length; i++) {
    const ch = csv[i];
    if (quoted) {
      if (ch === '"' && csv[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',' || ch === '\n') cells.push(cell), (cell = '');
    else if (ch !== '\r') cell += ch;
  }
  if (cell) cells.push(cell);
  return cells;
}

/** Cells a spreadsheet would evaluate (a leading =, +, @, or - not starting a number). */
const formulaCells = (csv: string) => csvCells(csv).filter((c) => /^[=+@\t\r]|^-(?![\d.])/.test(c));

describe('recipients and escaping, end to end', () => {
  let html: string;
  let eml: Buffer;
  let rejects: string;

  beforeAll(async () => {
    writeFileSync(path.join(dir, 'export.csv'), hostileCsv());
    await clearEmails(emu.current.sesEndpoint);
    const { delivery } = await runAndDeliver({ input: path.join(dir, 'export.csv'), out: path.join(dir, 'out'), config: sampleConfig(), send: true, env: emu.current.env });
    expect(delivery.status).toBe('sent');
    const run = path.join(dir, 'out', layout.runPrefix(RUN_DATE));
    html = readFileSync(path.join(run, 'report.html'), 'utf8');
    eml = readFileSync(path.join(run, 'report.eml'));
    rejects = readFileSync(path.join(run, 'rejects.csv'), 'utf8');
  }, 120_000);

  it('the report goes only to the configured recipients, never to an address found in the data', async () => {
    const emails = await receivedEmails(emu.current.sesEndpoint);
    expect(emails).toHaveLength(1);
    expect(emails[0].destination).toEqual({ to: [LEADERSHIP], cc: [], bcc: [] });
    expect(emails[0].replyTo ?? []).toEqual([]);
    const parsed = await simpleParser(eml);
    const addresses = [parsed.to, parsed.cc, parsed.bcc, parsed.replyTo].flatMap((a) => (a ? (Array.isArray(a) ? a : [a]) : [])).flatMap((a) => a.value.map((v) => v.address));
    expect(addresses).toEqual([LEADERSHIP]);
  });

  it('a segment named <script> is text in the HTML report and the email', async () => {
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;'); // it is there, as text
    expect(html).not.toMatch(/<script/i);
    const parsed = await simpleParser(eml);
    expect(parsed.html || '').not.toMatch(/<script/i);
    expect(parsed.subject ?? '').not.toMatch(/[\r\n]/);
  });

  it('a segment named =HYPERLINK(...) is not a formula in the attached CSVs or rejects.csv', async () => {
    const parsed = await simpleParser(eml);
    const csvs = parsed.attachments.filter((a) => a.filename?.endsWith('.csv'));
    expect(csvs.map((a) => a.filename).sort()).toEqual(['alerts.csv', 'segments.csv']);
    const segments = csvs.find((a) => a.filename === 'segments.csv')!.content.toString('utf8');
    expect(segments).toContain(`"channel==HYPERLINK(""http://x"")"`); // the segment is "dimension=value": text, CSV-quoted
    for (const a of csvs) expect(formulaCells(a.content.toString('utf8')), a.filename).toEqual([]);
    // The rejected row's raw text starts with the formula: escaped with a leading quote, then CSV-quoted.
    expect(rejects).toContain(`,"'=1+2,C999999,2026-10-30,@SUM(A1),1.00,NA,web,USD"`);
    expect(formulaCells(rejects)).toEqual([]);
    expect(formulaCells('a,=1+2\n"@x",-3,-x\n')).toEqual(['=1+2', '@x', '-x']); // the check itself can fail
  });
});

describe('logs', () => {
  it('a handler run logs no customer id, email address or per-customer amount', async () => {
    const exportsBucket = await emu.bucket('exports');
    const outputsBucket = await emu.bucket('outputs');
    const s3 = emu.s3();
    await s3.send(new PutObjectCommand({ Bucket: exportsBucket, Key: 'sales/export.csv.gz', Body: readFileSync(SAMPLE_EXPORT) }));
    await s3.send(new PutObjectCommand({ Bucket: exportsBucket, Key: 'bad/export.csv.gz', Body: gz(corruptAmounts(sampleCsv(), 20)) }));

    // Everything the function writes: Powertools' JSON lines (stdout) and anything on stderr, debug level included.
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'DEBUG');
    const { handler } = await import('../functions/handler.js');
    const captured: string[] = [];
    const grab = (chunk: unknown) => void captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: unknown) => (grab(c), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: unknown) => (grab(c), true));
    const env = {
      ...emu.current.env,
      EXPORT_BUCKET: exportsBucket,
      EXPORT_PREFIX: 'sales/',
      OUTPUT_BUCKET: outputsBucket,
      OUTPUT_PREFIX: '',
      CONFIG_JSON: JSON.stringify(sampleConfigInput()),
    };
    try {
      await handler({ source: 'tailwatch.schedule', scheduledTime: '2026-11-01T06:00:00Z' }, env);
      await expect(handler({ asOf: RUN_DATE }, { ...env, EXPORT_PREFIX: 'bad/' })).rejects.toThrow(/rows rejected/);
    } finally {
      out.mockRestore();
      err.mockRestore();
      vi.unstubAllEnvs();
    }
    const logs = captured.join('');
    expect(logs).toMatch(/"message":"run succeeded"/);
    expect(logs).toMatch(/"message":"run failed"/);
    expect(logs).toMatch(/"message":"progress"/); // debug lines were captured too

    // Every customer id, order id and amount of the sample, and each customer's total.
    const lines = sampleCsv().trimEnd().split('\n');
    const header = lines[0].split(',');
    const [cid, oid, amt] = ['customer_id', 'order_id', 'amount'].map((c) => header.indexOf(c));
    const ids = new Set<string>();
    const amounts = new Set<string>();
    const totals = new Map<string, number>();
    for (const line of lines.slice(1)) {
      const c = line.split(',');
      if (c[cid]) ids.add(c[cid]);
      if (c[oid]) ids.add(c[oid]);
      const a = Number(c[amt]);
      if (/^-?\d+\.\d\d$/.test(c[amt] ?? '')) amounts.add(c[amt]);
      if (c[cid] && Number.isFinite(a)) totals.set(c[cid], (totals.get(c[cid]) ?? 0) + a);
    }
    for (const t of totals.values()) amounts.add(t.toFixed(2));
    expect(ids.size).toBeGreaterThan(8000);

    const tokens = logs.match(/[A-Za-z0-9_.@+%-]+/g) ?? [];
    expect(tokens.filter((t) => ids.has(t))).toEqual([]);
    expect(tokens.filter((t) => /^[^@\s]+@[^@\s]+\.[a-z]+$/i.test(t))).toEqual([]);
    expect(tokens.filter((t) => amounts.has(t))).toEqual([]);
  }, 120_000);
});

describe('dependencies', () => {
  it('npm audit --omit=dev: no high or critical advisory (skipped when the audit endpoint is unreachable)', async (ctx) => {
    const { stdout } = await new Promise<{ stdout: string }>((resolve) =>
      execFile('npm', ['audit', '--omit=dev', '--json'], { cwd: ROOT, timeout: 60_000, maxBuffer: 32 * 1024 * 1024 }, (_e, stdout) => resolve({ stdout })),
    );
    let report: { metadata?: { vulnerabilities?: Record<string, number> }; message?: string; error?: { summary?: string } };
    try {
      report = JSON.parse(stdout);
    } catch {
      return ctx.skip(`npm audit gave no JSON (registry unreachable?): ${stdout.slice(0, 200)}`);
    }
    const v = report.metadata?.vulnerabilities;
    if (!v) return ctx.skip(`npm audit could not query the registry: ${report.message ?? report.error?.summary ?? 'no result'}`);
    expect({ high: v.high, critical: v.critical }).toEqual({ high: 0, critical: 0 });
  }, 90_000);
});
