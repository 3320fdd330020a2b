/**
 * The plain-text alternative: the same facts as the HTML, in the same order, with the charts
 * given as small tables of their numbers.
 */
import { capitalize, type Curve, type Heatmap, type ReportContent } from './content.js';
import type { ReportInput } from './types.js';
import { TABLE_NAMES } from '../outputs/schema.js';

function section(title: string): string {
  return `\n${title}\n${'-'.repeat(title.length)}`;
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function curveTable(title: string, curves: Curve[], fmt: (v: number) => string, ageWord: string): string[] {
  const ages = [...new Set(curves.flatMap((c) => c.points.map((p) => p.age)))].sort((a, b) => a - b);
  if (ages.length === 0) return [`${title}: not enough complete cohort history yet.`];
  const rows = curves.map((c) => [c.tier, ...ages.map((a) => {
    const p = c.points.find((q) => q.age === a);
    return p ? fmt(p.y) : '-';
  })]);
  const header = [ageWord, ...ages.map(String)];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i], i > 0)).join('  ');
  return [title, line(header), ...rows.map(line)];
}

function heatmapText(h: Heatmap, int: (v: number) => string): string[] {
  if (h.rows.length === 0 || h.ages.length === 0) return ['Not enough cohort history for a retention table yet.'];
  const header = ['cohort', 'cust.', ...h.ages.map(String)];
  const rows = h.rows.map((r) => [
    r.cohort,
    int(r.customers),
    ...r.cells.map((c) => (!c || c.retention === null ? '-' : `${Math.round(c.retention * 100)}${c.partial ? '*' : ''}`)),
  ]);
  const widths = header.map((hd, i) => Math.max(hd.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i], i > 0)).join(' ');
  return [line(header), ...rows.map(line)];
}

export function renderText(
  input: ReportInput,
  c: ReportContent,
  curves: { retention: Curve[]; ltv: Curve[] },
  shareSeries: { tier: string; points: { label: string; y: number | null; partial: boolean }[] }[],
  heat: Heatmap,
  attachments: string[],
): string {
  const f = c.f;
  const L: string[] = [];
  L.push(c.headline);
  L.push(`tailwatch${input.company ? ` - ${input.company}` : ''} - run ${input.runDate}, data to ${input.asOf}`);
  L.push('');
  L.push(c.summary.join(' '));

  if (c.warnings.length > 0) {
    L.push(section('Top warnings, by money at risk'));
    for (const w of c.warnings) {
      L.push('');
      L.push(`#${w.rank} [${w.severity}] ${capitalize(w.who)}: ${w.metricLabel}`);
      L.push(`  ${w.from} -> ${w.to} (${w.change}); about ${w.moneyPerYear} a year at risk`);
      L.push(`  What this means: ${w.meaning}`);
      L.push(`  Baseline: ${w.baseline}`);
      L.push(`  Now: ${w.current}`);
      L.push(`  How sure: ${w.sure}`);
      if (w.arithmetic) L.push(`  Money: ${w.arithmetic}`);
    }
    if (c.moreWarnings > 0) L.push('', `${c.moreWarnings} more warning${c.moreWarnings === 1 ? '' : 's'} in the attached alerts.csv.`);
  }

  const ageWord = `age (${c.periodWord}s)`;
  L.push(section('Small customers: the long tail'));
  L.push([c.longTail.sentence, c.longTail.trendSentence].filter(Boolean).join(' '));
  L.push('');
  L.push('Share of revenue by tier, last periods (* = in progress):');
  for (const s of shareSeries) {
    const pts = s.points.slice(-6).map((p) => `${p.label} ${f.pct(p.y)}${p.partial ? '*' : ''}`);
    L.push(`  ${s.tier}: ${pts.join(', ') || 'no data'}`);
  }
  L.push('');
  L.push(...curveTable('Retention by age (share of cohort buying), average of complete cohorts:', curves.retention, (v) => f.pct(v, 0), ageWord));
  L.push('');
  L.push(...curveTable(`Lifetime value by age (cumulative revenue per customer, ${input.currency}):`, curves.ltv, (v) => f.money(v), ageWord));
  L.push('');
  L.push(`Retention of ${heat.tier} customers by cohort, % buying (rows: cohorts; columns: ${c.periodWord}s since first purchase; * = in progress, not compared):`);
  L.push(...heatmapText(heat, f.int));
  if (c.mix.length > 0) {
    L.push('');
    L.push(`Explained by customer mix, not behaviour (reported, not a warning): ${c.mix.join(' ')}`);
  }
  if (c.tooSmall.length > 0) {
    L.push('');
    L.push(`Too small to judge (not enough customers for a reliable test): ${c.tooSmall.map((t) => `${t.who}: ${t.metric} (${t.customers} customers)`).join('; ')}.`);
  }

  L.push(section('Data quality'));
  for (const l of c.quality.lines) L.push(`${l.label}: ${l.value}${l.flag ? '  <-- check' : ''}`);
  if (c.quality.rejectedExamples.length > 0) {
    L.push(`Most common reasons for rejected rows: ${c.quality.rejectedExamples.map((e) => `${e.reason} (${e.count})`).join('; ')}. Every rejected row is in rejects.csv beside the run.`);
  }

  L.push(section('Get the data'));
  L.push(`All tables (${TABLE_NAMES.join(', ')}) are Parquet files, partitioned by run date, under:`);
  L.push(`  ${c.tablesLocation}`);
  L.push(`This run's small-customer segments in DuckDB (in Athena, use the Glue table segments in the FROM line):`);
  L.push('');
  L.push(...c.query.split('\n').map((q) => `  ${q}`));
  L.push('');
  L.push(`Attached: ${attachments.join(', ') || 'nothing'}. Money in ${input.currency}.`);
  return L.join('\n') + '\n';
}
