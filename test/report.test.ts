import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-wasm';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildFailureNotice,
  buildReportEmail,
  csvCell,
  EmailTooLargeError,
  escapeHtml,
  renderReport,
  pngDataUrl,
  ReportInputError,
  resolveImages,
  toCsv,
} from '../lib/report/index.js';
import { RUNTIME_ASSETS } from '../lib/report/assets.js';
import { chartAlt, fontFiles, lineChartSvg, niceTicks, OKABE_ITO, svgToPng } from '../lib/report/charts.js';
import { cohortCurves, heatmap, longTail, NO_LOSS_LINE } from '../lib/report/content.js';
import { formatters, headerSafe } from '../lib/report/format.js';
import { heatColor } from '../lib/report/html.js';
import type { RenderedReport } from '../lib/report/types.js';
import type { CohortRow } from '../lib/types.js';
import {
  ALERTS,
  baseInput,
  FORMULA_SEGMENT,
  HOSTILE_SEGMENT,
  HOSTILE_TIER,
  hostileInput,
  noAlertInput,
  retentionAt,
} from './fixtures/report/inputs.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Split RFC 4180 CSV (quoted fields, doubled quotes, CRLF) into rows of cells. */
function parseCsv(s: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let q = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (q) {
      if (ch === '"' && s[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') q = false;
      else cell += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && s[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** The HTML's visible text, in order (tags dropped, entities of the escaper decoded). */
function visibleText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<title>[\s\S]*?<\/title>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&rarr;/g, '→')
    .replace(/&middot;/g, '·')
    .replace(/&asymp;/g, '≈')
    .replace(/&ndash;/g, '–')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

describe('escapeHtml and csvCell', () => {
  it('escapes the five HTML specials and nothing else', () => {
    expect(escapeHtml(`<script>alert("x" & 'y')</script>`)).toBe('&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;');
    expect(escapeHtml('région €1,234')).toBe('région €1,234');
  });

  it('escaped text never contains markup characters, and decodes back (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const e = escapeHtml(s);
        expect(e).not.toMatch(/[<>"']/);
        const back = e.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
        expect(back).toBe(s);
      }),
    );
  });

  it('neutralises formula starts with a leading apostrophe and quotes per RFC 4180', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('\rx')).toBe(`"'\rx"`);
    expect(csvCell('=HYPERLINK("http://e/x","a")')).toBe(`"'=HYPERLINK(""http://e/x"",""a"")"`);
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell('region=EU')).toBe('region=EU'); // "=" inside is harmless
    expect(csvCell(' padded')).toBe('" padded"');
    // numbers stay numbers: a number is never a formula, and negatives must stay numeric
    expect(csvCell(-0.05)).toBe('-0.05');
    expect(csvCell(1234.5)).toBe('1234.5');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(Number.NaN)).toBe('');
    expect(csvCell(true)).toBe('true');
  });

  it('a CSV of arbitrary strings parses back to the same cells, none starting a formula (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string(), { minLength: 2, maxLength: 2 }), { maxLength: 5 }), (cells) => {
        const csv = toCsv(['a', 'b'], cells.map(([a, b]) => ({ a, b })));
        const parsed = parseCsv(csv);
        expect(parsed[0]).toEqual(['a', 'b']);
        expect(parsed.length).toBe(cells.length + 1);
        parsed.slice(1).forEach((row, i) => {
          row.forEach((cell, j) => {
            expect(cell).not.toMatch(/^[=+\-@\t\r]/);
            const orig = cells[i][j];
            expect(cell).toBe(/^[=+\-@\t\r]/.test(orig) ? `'${orig}` : orig);
          });
        });
      }),
    );
  });

  it('header values lose line breaks and control characters', () => {
    expect(headerSafe('a\r\nBcc: x@y\u0000z')).toBe('a Bcc: x@y z');
  });
});

describe('numbers behind the pictures', () => {
  it('retention curve = customer-weighted mean over cohorts that completed the age; partial cells excluded', () => {
    const row = (cohort: string, n: number, k: number, active: number, partial = false): CohortRow => ({
      cohort,
      cohort_start: `${cohort}-01`,
      tier: 'small',
      segment: 'all',
      period: k,
      customers: n,
      active_customers: active,
      retention: active / n,
      revenue: active * 10,
      revenue_retention: null,
      cumulative_revenue_per_customer: null,
      partial,
    });
    const rows = [row('2024-01', 100, 1, 20), row('2024-02', 300, 1, 30), row('2024-03', 1000, 1, 0, true), row('2024-01', 100, 2, 10)];
    const [c] = cohortCurves(rows, ['small'], 'month', (r) => r.retention, 1);
    // (20 + 30) / (100 + 300) = 0.125; the partial 2024-03 cell (0%) must not drag it down
    expect(c.points).toEqual([
      { age: 1, y: 0.125, cohorts: 2, customers: 400 },
      { age: 2, y: 0.1, cohorts: 1, customers: 100 },
    ]);
  });

  it('fixture curves match the closed form (base x 0.8^(k-1))', () => {
    const input = baseInput();
    const curves = cohortCurves(input.cohorts, input.tierNames, 'month', (r) => r.retention, 1);
    for (const c of curves) {
      for (const p of c.points) expect(p.y).toBeCloseTo(Math.round((c.tier === 'small' ? 400 : c.tier === 'mid' ? 200 : 100) * retentionAt(c.tier, p.age)) / (c.tier === 'small' ? 400 : c.tier === 'mid' ? 200 : 100), 12);
      // ages 1..10 are complete for at least one cohort; age 11 only for 2023-07, where it is partial
      expect(c.points.map((p) => p.age)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
  });

  it('heatmap: latest cohorts as rows, ages 1.. as columns, partial cells marked', () => {
    const h = heatmap(baseInput().cohorts, 'small', 'month');
    expect(h.rows.map((r) => r.cohort)[0]).toBe('2023-07');
    expect(h.rows).toHaveLength(12);
    expect(h.ages).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(h.rows[0].cells[0]).toEqual({ retention: 0.2, partial: false });
    expect(h.rows[0].cells[10]).toEqual({ retention: Math.round(400 * 0.2 * 0.8 ** 10) / 400, partial: true });
    expect(h.rows[10].cells[0]).toEqual({ retention: 0.2, partial: true }); // 2024-05 at age 1 is June
    expect(h.rows[11].cells.every((c) => c === null)).toBe(true);
    expect(h.max).toBe(0.2);
  });

  it('heat colours get darker with retention; dark cells get white text', () => {
    expect(heatColor(0, 0.2).bg).toBe('#f7fbff');
    expect(heatColor(0.2, 0.2)).toEqual({ bg: '#08306b', fg: '#ffffff' });
    expect(heatColor(0.05, 0.2).fg).toBe('#111827');
  });

  it('long-tail trend compares the last complete period with a year earlier when there is one', () => {
    const f = formatters('USD');
    const lt = longTail(baseInput(), f);
    // 12 periods, the last partial: 11 complete -> no lag-12 period, compare with the first
    expect(lt.latest).toEqual({ period: '2024-05', share: 0.3 - 10 * 0.003 });
    expect(lt.earlier?.period).toBe('2023-07');
    expect(lt.customerShare).toBeCloseTo(4800 / 8400, 12);
    expect(lt.trendSentence).toContain('down from 30.0% in 2023-07');
    expect(lt.trendSentence).toContain('Previous run (2024-06-01): 28.5%');
  });

  it('nice ticks cover the data with equal round steps (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e7, noNaN: true }), fc.double({ min: 1e-3, max: 1e7, noNaN: true }), (lo, span) => {
        // a span below a millionth of the values is beyond double precision for round steps (charts start at 0 anyway)
        fc.pre(span > lo * 1e-6);
        const t = niceTicks(lo, lo + span, 5);
        expect(t[0]).toBeLessThanOrEqual(lo);
        expect(t[t.length - 1]).toBeGreaterThanOrEqual((lo + span) * (1 - 1e-12));
        const step = t[1] - t[0];
        for (let i = 2; i < t.length; i++) expect(t[i] - t[i - 1]).toBeCloseTo(step, 6);
        const m = step / 10 ** Math.floor(Math.log10(step));
        expect([1, 2, 5, 10].some((n) => Math.abs(m - n) < 1e-6)).toBe(true);
        expect(t.length).toBeLessThanOrEqual(12);
      }),
    );
  });
});

describe('charts', () => {
  it('the bundled font is found, listed as a runtime asset, and renders text without system fonts', async () => {
    for (const a of RUNTIME_ASSETS) expect(existsSync(a), a).toBe(true);
    await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>'); // initialises the wasm renderer
    const fontBuffers = fontFiles().map((f) => new Uint8Array(readFileSync(f)));
    for (const f of fontFiles()) expect(RUNTIME_ASSETS.some((a) => f.endsWith(a))).toBe(true);
    const dark = (svg: string) => {
      const px = new Resvg(svg, { font: { fontBuffers, defaultFontFamily: 'DejaVu Sans' } }).render().pixels;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 128) n++;
      return n;
    };
    const svg = (t: string) => `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="4" y="28" font-family="DejaVu Sans" font-size="20">${t}</text></svg>`;
    expect(dark(svg(''))).toBe(0);
    expect(dark(svg('Retention €'))).toBeGreaterThan(200);
  });

  it('SVG escapes series names and has title, axis titles and one colour per series', () => {
    const svg = lineChartSvg({
      title: 'T',
      xLabel: 'Age (months)',
      yLabel: 'Share (%)',
      xTicks: [{ x: 0, label: '0' }, { x: 1, label: '1' }],
      yFormat: (v) => `${v}`,
      series: [
        { name: HOSTILE_TIER, points: [{ x: 0, y: 1 }, { x: 1, y: 2, partial: true }] },
        { name: 'b', points: [{ x: 0, y: 2 }, { x: 1, y: 1 }] },
      ],
    });
    expect(svg).not.toContain('<img');
    expect(svg).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(svg).toContain('Age (months)');
    expect(svg).toContain('Share (%)');
    expect(svg).toContain(OKABE_ITO[0]);
    expect(svg).toContain(OKABE_ITO[1]);
    expect(svg).toContain('hollow = period in progress');
  });

  it('alt text names every series with its first and last value', () => {
    const spec = {
      title: 'Retention',
      xLabel: 'Age (months)',
      yLabel: 'Customers buying (%)',
      xTicks: [],
      yFormat: (v: number) => `${Math.round(v * 100)}%`,
      series: [
        { name: 'small', points: [{ x: 1, y: 0.2 }, { x: 2, y: 0.1 }] },
        { name: 'large', points: [] },
      ],
    };
    expect(chartAlt(spec, (x) => `age ${x}`)).toBe(
      'Line chart, Retention. Customers buying (%) by age (months). small: 20% at age 1 to 10% at age 2; large: no data.',
    );
  });
});

describe('renderReport', () => {
  let withAlerts: RenderedReport;
  let noAlerts: RenderedReport;
  let hostile: RenderedReport;
  beforeAll(async () => {
    [withAlerts, noAlerts, hostile] = await Promise.all([renderReport(baseInput()), renderReport(noAlertInput()), renderReport(hostileInput())]);
  });

  it('subject carries the headline finding, its money and the run date', () => {
    expect(withAlerts.subject).toBe(
      'Example Shop tailwatch 2024-07-01: Small customers in region=EU: retention down from 21.0% to 14.0%, about $48.2K a year at risk (+1 more)',
    );
    expect(noAlerts.subject).toBe(`Example Shop tailwatch 2024-07-01: ${NO_LOSS_LINE('month')}`);
  });

  it('content in order: headline, summary, warnings by money, long tail, quality, data access', () => {
    const t = visibleText(withAlerts.html);
    const order = [
      'Small customers in region=EU: retention down from 21.0% to 14.0%', // h1
      '2 value-loss warnings this run; the largest puts about $48,210 a year at risk (they overlap', // summary: overlapping amounts are not added up
      'Small customers are 57.1% of customers and bring 27.0% of revenue',
      'Top warnings, by money at risk',
      '#1 · Critical Small customers in region=EU: retention', // 48,210 ranks above 23,000 although given second
      '21.0% → 14.0% (-7.0 pts, -33.3%)',
      '≈ $48,210 a year at risk',
      'What this means: Out of every 100 small customers in region=EU acquired, about 7 fewer are still buying',
      'Baseline: 21.0% (cohorts 2023-07 to 2023-10 at age 1)',
      'How sure: two-proportion z-test: p < 0.001, q = 0.0011',
      '#2 · Warning Small customers: share of revenue',
      '≈ $23,000 a year at risk',
      'Small customers: the long tail',
      'Retention of small customers by cohort',
      'Too small to judge',
      'Data quality',
      'Rows rejected 42 (0.06%)',
      'Latest order in the data 2024-06-29 (1 day before the as-of date 2024-06-30)',
      'Prediction model fitted.',
      'Get the data',
      's3://tailwatch-out/tables/',
      "FROM read_parquet('s3://tailwatch-out/tables/segments/*/*.parquet', hive_partitioning = true)",
    ];
    let at = -1;
    for (const s of order) {
      const i = t.indexOf(s, at + 1);
      expect(i, `"${s}" missing or out of order`).toBeGreaterThan(at);
      at = i;
    }
  });

  it('summary is two to three sentences', () => {
    for (const r of [withAlerts, noAlerts]) {
      const para = r.text.split('\n')[3];
      const sentences = para.split(/(?<=\.)\s+(?=[A-Z])/).filter(Boolean);
      expect(sentences.length).toBeGreaterThanOrEqual(2);
      expect(sentences.length).toBeLessThanOrEqual(3);
    }
  });

  it('partial cohort cells are shown and marked, and the legend says what the mark means', () => {
    expect(withAlerts.html).toMatch(/font-style:italic;[^"]*">20\*<\/td>/);
    expect(withAlerts.html).toContain('= period still in progress: shown, not compared');
    expect(withAlerts.text).toContain('2024-05   400 20*');
  });

  it('no alerts: the first line says so, and the trend is still shown', () => {
    expect(visibleText(noAlerts.html).trim().startsWith(`${NO_LOSS_LINE('month')} tailwatch · Example Shop · Run 2024-07-01`)).toBe(true);
    expect(noAlerts.text.split('\n')[0]).toBe(NO_LOSS_LINE('month'));
    expect(NO_LOSS_LINE('month')).toBe('No value losses detected in small-customer segments this month');
    expect(noAlerts.html).not.toContain('Top warnings');
    expect(noAlerts.images).toHaveLength(3);
    expect(noAlerts.text).toContain('their share of revenue went from 30.0% in 2023-07 to 27.0% in 2024-05');
    expect(parseCsv(noAlerts.attachments[1].content)).toHaveLength(1); // header only
  });

  it('HTML is email-safe: no script, no SVG, no external resource, every image by cid with alt text', () => {
    for (const r of [withAlerts, noAlerts, hostile]) {
      expect(r.html).not.toMatch(/<script|<svg|<link|<iframe|<object|<embed|javascript:/i);
      // no event-handler attribute in any tag (the hostile name " onerror=" may appear as escaped text)
      for (const tag of r.html.match(/<[a-z][^>]*>/gi) ?? []) {
        const attrs = [...tag.matchAll(/\s([a-zA-Z-]+)=("[^"]*"|'[^']*'|[^\s>]+)/g)].map((m) => m[1].toLowerCase());
        expect(attrs.filter((a) => a.startsWith('on'))).toEqual([]);
        // and every attribute value is quoted, so none can break out
        expect(tag.replace(/\s[a-zA-Z-]+="[^"]*"/g, '')).toMatch(/^<[a-zA-Z0-9]+\s*\/?>$/);
      }
      expect(r.html).not.toMatch(/(src|href)="https?:/i);
      const srcs = [...r.html.matchAll(/<img src="([^"]+)"[^>]*alt="([^"]+)"/g)];
      expect(srcs.map((m) => m[1])).toEqual(r.images.map((i) => `cid:${i.cid}`));
      for (const m of srcs) expect(m[2].length).toBeGreaterThan(30);
      for (const img of r.images) {
        expect([...img.png.slice(0, 8)]).toEqual(PNG_SIGNATURE);
        // PNG IHDR width: 2x the 480 px chart
        expect(new DataView(img.png.buffer, img.png.byteOffset).getUint32(16)).toBe(960);
        expect(img.alt).toMatch(/^Line chart, /);
      }
    }
  });

  it('resolveImages swaps every cid: reference for a URL (saved report.html opens as mailed)', () => {
    const html = resolveImages(withAlerts.html, withAlerts.images, pngDataUrl);
    expect(html).not.toContain('cid:');
    expect(html.match(/src="data:image\/png;base64,[A-Za-z0-9+/=]+"/g)).toHaveLength(3);
    expect(resolveImages(withAlerts.html, withAlerts.images, (i) => `images/${i.filename}`)).toContain('src="images/share.png"');
  });

  it('money follows the run currency and locale', async () => {
    const r = await renderReport(baseInput({ currency: 'EUR', locale: 'de-DE' }));
    expect(r.html).toContain('48.210');
    expect(r.html).toContain('€');
    expect(r.text).not.toContain('$');
  });

  it('the plain text carries the same facts as the HTML', () => {
    const facts = [
      'Small customers in region=EU: retention down from 21.0% to 14.0%, about $48.2K a year at risk',
      'the largest puts about $48,210 a year at risk',
      '#1 [critical] Small customers in region=EU: retention',
      '21.0% -> 14.0% (-7.0 pts, -33.3%); about $48,210 a year at risk',
      'What this means: Out of every 100 small customers',
      '#2 [warning] Small customers: share of revenue',
      'Rows rejected: 42 (0.06%)',
      'Latest order in the data: 2024-06-29',
      'Prediction model: fitted.',
      's3://tailwatch-out/tables/',
      'large customers in region=EU: retention (41 customers)',
    ];
    for (const f of facts) expect(withAlerts.text).toContain(f);
    // every image's numbers are in the text: retention of small at age 1 and LTV at age 10
    expect(withAlerts.text).toMatch(/small\s+20%\s+16%/);
    expect(withAlerts.text).toContain('$37.85');
  });

  it('hostile names: escaped in HTML, neutralised in CSV, flat in the subject', () => {
    const h = hostile.html;
    expect(h).not.toContain('<script');
    expect(h).not.toContain('<img src=x');
    expect(h).not.toContain('<b>Evil');
    expect(h).not.toContain('<i>more</i>');
    expect(h).toContain(escapeHtml(HOSTILE_SEGMENT));
    expect(h).toContain(escapeHtml(HOSTILE_TIER));
    expect(h).toContain('&lt;i&gt;more&lt;/i&gt;');
    // the only tags are the template's
    const tags = new Set([...h.matchAll(/<([a-zA-Z0-9]+)/g)].map((m) => m[1].toLowerCase()));
    expect([...tags].sort()).toEqual(
      ['b', 'body', 'code', 'div', 'h1', 'h2', 'head', 'html', 'i', 'img', 'meta', 'p', 'pre', 'span', 'table', 'td', 'th', 'title', 'tr', 'br'].sort(),
    );
    expect(hostile.subject).not.toMatch(/[\r\n]/);

    const seg = parseCsv(hostile.attachments.find((a) => a.filename === 'segments.csv')!.content);
    const header = seg[0];
    const segCol = header.indexOf('segment');
    const formulaRow = seg.find((r) => r[segCol].includes('HYPERLINK'))!;
    expect(formulaRow[segCol]).toBe(`'${FORMULA_SEGMENT}`);
    const alerts = parseCsv(hostile.attachments.find((a) => a.filename === 'alerts.csv')!.content);
    const ah = alerts[0];
    for (const row of alerts.slice(1)) for (const cell of row) expect(cell).not.toMatch(/^[=+@\t\r]|^-[^0-9]/);
    expect(alerts[2][ah.indexOf('arithmetic')]).toBe("'@SUM(A1:A9)");
    expect(alerts[2][ah.indexOf('message')]).toBe(`'+cmd|"/c calc"!A0`);
    // numbers stay numeric (negative change is not escaped)
    expect(alerts[1][ah.indexOf('change')]).toBe('-0.07');
  });

  it('CSV attachments: every schema column, alerts ranked by money', () => {
    const seg = parseCsv(withAlerts.attachments[0].content);
    expect(withAlerts.attachments.map((a) => a.filename)).toEqual(['segments.csv', 'alerts.csv']);
    expect(seg[0].slice(0, 4)).toEqual(['tier', 'segment', 'customers', 'prev_customers']);
    expect(seg[0]).toContain('prev_run_date');
    expect(seg).toHaveLength(1 + 6);
    const al = parseCsv(withAlerts.attachments[1].content);
    expect(al[0][0]).toBe('rank');
    expect(al.slice(1).map((r) => r[al[0].indexOf('annual_value_at_risk')])).toEqual(['48210', '23000']);
  });

  it('a first run with no history still renders: empty charts say so, no NaN anywhere', async () => {
    const r = await renderReport(
      baseInput({ alerts: [], cohorts: [], periods: [], segments: [], tooSmall: [], cohortPeriod: 'week', quality: { ...baseInput().quality, latestOrderDate: null } }),
    );
    expect(r.text.split('\n')[0]).toBe(NO_LOSS_LINE('week'));
    expect(r.html).toContain('Not enough cohort history for a retention table yet.');
    expect(r.text).toContain('not enough complete cohort history yet');
    expect(r.html + r.text).not.toMatch(/NaN|undefined|Infinity/);
    expect(r.images).toHaveLength(3);
    for (const img of r.images) expect(img.alt).toContain('no data');
  });

  it('rejects a malformed input with the field named', async () => {
    await expect(renderReport(baseInput({ currency: 'dollars' }))).rejects.toThrow(ReportInputError);
    await expect(renderReport(baseInput({ currency: 'dollars' }))).rejects.toThrow(/currency/);
    const bad = baseInput();
    await expect(renderReport({ ...bad, alerts: [{ ...ALERTS[0], annual_value_at_risk: 'lots' as unknown as number }] })).rejects.toThrow(
      /alerts\.0\.annual_value_at_risk/,
    );
  });

  it('the DuckDB query in the report runs against tables laid out as the outputs are', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const dir = mkdtempSync(join(tmpdir(), 'tailwatch-report-sql-'));
    try {
      const csv = join(dir, 'segments.csv');
      writeFileSync(csv, withAlerts.attachments[0].content);
      mkdirSync(join(dir, 'segments', 'run_date=2024-07-01'), { recursive: true });
      const db = await DuckDBInstance.create(':memory:');
      const con = await db.connect();
      await con.run(
        `COPY (SELECT * FROM read_csv('${csv}', header = true)) TO '${join(dir, 'segments', 'run_date=2024-07-01', 'part-00000.parquet')}' (FORMAT parquet)`,
      );
      const query = withAlerts.text
        .split('\n')
        .filter((l) => /^ {2}(SELECT|FROM|WHERE|ORDER)/.test(l))
        .join('\n')
        .replace('s3://tailwatch-out/tables/', `${dir}/`);
      const rows = (await con.runAndReadAll(query)).getRowObjectsJson();
      expect(rows.map((r) => r.segment)).toEqual(['all', 'region=US', 'region=EU']);
      con.closeSync();
      db.closeSync();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('MIME message', () => {
  let rendered: RenderedReport;
  let eml: Uint8Array;
  let mail: ParsedMail;
  beforeAll(async () => {
    rendered = await renderReport(baseInput());
    eml = await buildReportEmail(rendered, { from: 'tailwatch@example.com', to: ['ceo@example.com', 'cfo@example.com'], date: new Date('2024-07-01T06:00:00Z') });
    mail = await simpleParser(Buffer.from(eml), { keepCidLinks: true });
  });

  it('parses back with headers, HTML, text, inline images referenced by cid, and CSV attachments', () => {
    expect(mail.subject).toBe(rendered.subject);
    expect(mail.from?.text).toBe('tailwatch@example.com');
    expect((Array.isArray(mail.to) ? mail.to : [mail.to]).map((a) => a?.text).join()).toBe('ceo@example.com, cfo@example.com');
    expect(mail.date?.toISOString()).toBe('2024-07-01T06:00:00.000Z');
    expect(mail.text?.trim()).toBe(rendered.text.trim());
    // keepCidLinks: see the HTML as sent (by default mailparser inlines cid: images as data: URLs)
    expect(mail.html).toBe(rendered.html);
    const inline = mail.attachments.filter((a) => a.contentType === 'image/png');
    expect(inline).toHaveLength(3);
    for (const img of rendered.images) {
      const part = inline.find((a) => a.cid === img.cid);
      expect(part, img.cid).toBeDefined();
      expect(part!.related).toBe(true);
      expect(part!.contentDisposition).toBe('inline');
      expect(Buffer.compare(part!.content, Buffer.from(img.png))).toBe(0);
      expect(mail.html).toContain(`src="cid:${img.cid}"`);
    }
    const csvs = mail.attachments.filter((a) => a.filename?.endsWith('.csv'));
    expect(csvs.map((a) => a.filename)).toEqual(['segments.csv', 'alerts.csv']);
    for (const a of csvs) {
      expect(a.contentType).toBe('text/csv');
      expect(a.content.toString('utf8')).toBe(rendered.attachments.find((x) => x.filename === a.filename)!.content);
    }
  });

  it('is structured mixed > alternative(text, related(html, images)) + attachments', () => {
    const raw = Buffer.from(eml).toString('latin1');
    const types = [...raw.matchAll(/^Content-Type: ([^;\r\n]+)/gim)].map((m) => m[1].toLowerCase());
    expect(types).toEqual(['multipart/mixed', 'multipart/alternative', 'text/plain', 'multipart/related', 'text/html', 'image/png', 'image/png', 'image/png', 'text/csv', 'text/csv']);
    expect(eml.byteLength).toBeLessThan(500_000);
  });

  it('over the size limit: drops the largest CSV, says so in HTML and text; throws when nothing is left to drop', async () => {
    const full = eml.byteLength;
    const opts = { from: 'tailwatch@example.com', to: ['ceo@example.com', 'cfo@example.com'], date: new Date('2024-07-01T06:00:00Z') };
    expect((await buildReportEmail(rendered, { ...opts, maxBytes: full })).byteLength).toBe(full); // at the limit: untouched
    const trimmed = await buildReportEmail(rendered, { ...opts, maxBytes: full - 1 });
    expect(trimmed.byteLength).toBeLessThan(full);
    const m = await simpleParser(Buffer.from(trimmed), { keepCidLinks: true });
    const csvs = m.attachments.filter((a) => a.filename?.endsWith('.csv')).map((a) => a.filename);
    const bigger = [...rendered.attachments].sort((a, b) => b.content.length - a.content.length)[0].filename;
    expect(csvs).toEqual(rendered.attachments.map((a) => a.filename).filter((n) => n !== bigger));
    expect(m.text).toContain(`Note: ${bigger} (`);
    expect(m.text).toContain('was left out');
    expect(m.html).toContain(`${bigger} (`);
    await expect(buildReportEmail(rendered, { from: 'a@example.com', to: ['b@example.com'], maxBytes: 10_000 })).rejects.toThrow(EmailTooLargeError);
  });

  it('refuses to build a message without recipients', async () => {
    await expect(buildReportEmail(rendered, { from: 'a@example.com', to: [] })).rejects.toThrow(/no recipients/);
  });
});

describe('failure notice', () => {
  it('is short, text only, says no report was sent and why', async () => {
    const n = await buildFailureNotice({
      runDate: '2024-07-01',
      stage: 'ingest',
      reason: '7,000 of 69,659 rows rejected (10.05%), above input.maxRejectShare = 5.00%: not reporting on bad data\nsecond line',
      details: ['amount: not a number (6,900)', 'order date: missing (100)'],
      from: 'tailwatch@example.com',
      to: ['ops@example.com'],
      date: new Date('2024-07-01T06:00:00Z'),
    });
    expect(n.subject).toBe('tailwatch 2024-07-01: run failed at ingest, no report sent - 7,000 of 69,659 rows rejected (10.05%), above input.maxRejectShare = 5.00%: not reporting on bad data');
    expect(n.text).toContain('No report was sent to leadership');
    expect(n.text).toContain('- amount: not a number (6,900)');
    expect(n.text).toContain('failures/run_date=2024-07-01/');
    const m = await simpleParser(Buffer.from(n.eml));
    expect(m.subject).toBe(n.subject);
    expect(m.html).toBe(false);
    expect(m.attachments).toHaveLength(0);
    expect(m.text?.trim()).toBe(n.text.trim());
    expect(m.to && !Array.isArray(m.to) ? m.to.text : '').toBe('ops@example.com');
  });

  it('has no value-loss wording: it is never mistaken for a report', async () => {
    const n = await buildFailureNotice({ runDate: '2024-07-01', stage: 'compute', reason: 'boom', from: 'a@example.com', to: ['b@example.com'] });
    expect(n.text).not.toContain('No value losses');
    expect(n.subject).toContain('failed');
  });
});

afterAll(() => undefined);
