/**
 * renderReport: the report's subject, HTML, text, chart PNGs and CSV attachments, from the
 * run's rows. No I/O besides reading the bundled font.
 */
import { alertsTable, segmentsTable } from '../outputs/schema.js';
import { buildContent, cohortCurves, heatmap, periodSeries, rankAlerts } from './content.js';
import { CHART_HEIGHT, CHART_WIDTH, chartAlt, lineChartSvg, svgToPng, type LineChartSpec } from './charts.js';
import { headerSafe, toCsv } from './format.js';
import { renderHtml, type HtmlChart } from './html.js';
import { renderText } from './text.js';
import { parseReportInput, type RenderedReport, type ReportImage, type ReportInput } from './types.js';

const AGE_LABEL: Record<ReportInput['cohortPeriod'], string> = {
  month: 'Age (months since first purchase)',
  week: 'Age (weeks since first purchase)',
  quarter: 'Age (quarters since first purchase)',
};

export async function renderReport(raw: ReportInput): Promise<RenderedReport> {
  const input = parseReportInput(raw);
  const c = buildContent(input);
  const f = c.f;
  const tiers = input.tierNames;

  // 1. revenue share by tier over calendar periods
  const share = tiers.map((t) => ({ tier: t, ...periodSeries(input.periods, t, input.cohortPeriod) }));
  const labels = share.reduce<string[]>((acc, s) => (s.labels.length > acc.length ? s.labels : acc), []);
  const idx = new Map(labels.map((l, i) => [l, i]));
  const shareSpec: LineChartSpec = {
    title: 'Share of revenue by customer tier',
    xLabel: `Calendar ${input.cohortPeriod}`,
    yLabel: 'Share of revenue (%)',
    xTicks: labels.map((l, i) => ({ x: i, label: l })),
    yFormat: (v) => f.pct(v, 0),
    series: share.map((s) => ({
      name: s.tier,
      points: s.byTier.filter((p) => idx.has(p.label)).map((p) => ({ x: idx.get(p.label) as number, y: p.y, partial: p.partial })),
    })),
  };

  // 2. retention curves and 3. LTV curves, complete cohort ages only
  const retention = cohortCurves(input.cohorts, tiers, input.cohortPeriod, (r) => r.retention, 1);
  const ltv = cohortCurves(input.cohorts, tiers, input.cohortPeriod, (r) => r.cumulative_revenue_per_customer, 0);
  const ages = (cs: typeof retention) => [...new Set(cs.flatMap((s) => s.points.map((p) => p.age)))].sort((a, b) => a - b);
  const retSpec: LineChartSpec = {
    title: 'Retention by customer age, per tier',
    xLabel: AGE_LABEL[input.cohortPeriod],
    yLabel: 'Customers buying (% of cohort)',
    xTicks: ages(retention).map((a) => ({ x: a, label: String(a) })),
    yFormat: (v) => f.pct(v, 0),
    series: retention.map((s) => ({ name: s.tier, points: s.points.map((p) => ({ x: p.age, y: p.y })) })),
  };
  const ltvSpec: LineChartSpec = {
    title: 'Lifetime value by customer age, per tier',
    xLabel: AGE_LABEL[input.cohortPeriod],
    yLabel: `Revenue per customer (${input.currency})`,
    xTicks: ages(ltv).map((a) => ({ x: a, label: String(a) })),
    yFormat: (v) => f.moneyShort(v),
    series: ltv.map((s) => ({ name: s.tier, points: s.points.map((p) => ({ x: p.age, y: p.y })) })),
  };

  const ageName = (x: number) => `age ${x}`;
  const specs = [
    { key: 'share' as const, spec: shareSpec, alt: chartAlt(shareSpec, (x) => labels[x] ?? String(x)) },
    { key: 'retention' as const, spec: retSpec, alt: chartAlt(retSpec, ageName) },
    { key: 'ltv' as const, spec: ltvSpec, alt: chartAlt(ltvSpec, ageName) },
  ];
  const images: ReportImage[] = [];
  const charts = {} as Record<'share' | 'retention' | 'ltv', HtmlChart>;
  for (const s of specs) {
    const cid = `${s.key}-${input.runDate}@tailwatch`;
    images.push({ cid, filename: `${s.key}.png`, png: await svgToPng(lineChartSvg(s.spec)), alt: s.alt });
    charts[s.key] = { cid, alt: s.alt, width: CHART_WIDTH, height: CHART_HEIGHT };
  }

  const heat = heatmap(input.cohorts, tiers[0], input.cohortPeriod);

  const segmentColumns = segmentsTable.columns.map((col) => col.name);
  const alertColumns = alertsTable.columns.map((col) => col.name);
  const attachments = [
    { filename: 'segments.csv', content: toCsv(segmentColumns, input.segments as unknown as Record<string, unknown>[]) },
    { filename: 'alerts.csv', content: toCsv(alertColumns, rankAlerts(input.alerts) as unknown as Record<string, unknown>[]) },
  ];
  const names = attachments.map((a) => a.filename);

  const html = renderHtml(input, c, charts, heat, names);
  const text = renderText(
    input,
    c,
    { retention, ltv },
    share.map((s) => ({ tier: s.tier, points: s.byTier })),
    heat,
    names,
  );
  return { subject: headerSafe(c.subject, 200), html, text, images, attachments };
}
