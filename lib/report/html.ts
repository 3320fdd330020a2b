/**
 * The HTML alternative. Email-client rules (Gmail, Outlook, Apple Mail): table layout, inline
 * CSS only, no script, no external resource, no SVG; images by Content-ID. One fluid column
 * (max 640 px) that needs no media query, so it also works at 390 px phone width; the headline
 * and the first warning come first so they are on the first screen.
 * Every string from the data goes through esc(); nothing else builds markup.
 */
import { escapeHtml as esc } from './format.js';
import { capitalize, type Heatmap, type ReportContent, type WarningView } from './content.js';
import type { ReportInput } from './types.js';
import { TABLE_NAMES } from '../outputs/schema.js';

/** buildReportEmail puts notes (e.g. a trimmed attachment) here. */
export const HTML_NOTE_MARKER = '<!--tailwatch:notes-->';

export interface HtmlChart {
  cid: string;
  alt: string;
  width: number;
  height: number;
}

const FONT = 'font-family:Arial,Helvetica,sans-serif;';
const TEXT = `${FONT}color:#1f2937;font-size:15px;line-height:1.45;`;
const MUTED = `${FONT}color:#4b5563;font-size:13px;line-height:1.4;`;
const H2 = `${FONT}color:#111827;font-size:18px;line-height:1.3;font-weight:bold;margin:0;padding:22px 0 8px;border-top:1px solid #e5e7eb;`;

const SEVERITY: Record<WarningView['severity'], { bar: string; label: string }> = {
  critical: { bar: '#D55E00', label: 'Critical' },
  warning: { bar: '#E69F00', label: 'Warning' },
  info: { bar: '#56B4E9', label: 'Note' },
};

/** ColorBrewer "Blues" (sequential, colour-blind safe): light = low retention, dark = high. */
const BLUES = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];

export function heatColor(v: number, max: number): { bg: string; fg: string } {
  const t = max > 0 ? Math.min(1, Math.max(0, v / max)) : 0;
  const i = Math.min(BLUES.length - 1, Math.round(t * (BLUES.length - 1)));
  return { bg: BLUES[i], fg: i >= 5 ? '#ffffff' : '#111827' };
}

function row(inner: string, pad = '0 16px'): string {
  // long unbroken names from the data (URLs, formulas) wrap instead of widening the phone layout
  return `<tr><td style="padding:${pad};overflow-wrap:anywhere;word-break:break-word;">${inner}</td></tr>`;
}

function warningCard(w: WarningView): string {
  const s = SEVERITY[w.severity];
  return (
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;margin:0 0 12px;background:#fafafa;">` +
    `<tr><td width="5" style="width:5px;background:${s.bar};font-size:0;line-height:0;">&nbsp;</td>` +
    `<td style="padding:10px 12px;">` +
    `<div style="${FONT}font-size:12px;font-weight:bold;color:#374151;letter-spacing:0.4px;text-transform:uppercase;">#${w.rank} &middot; ${s.label}</div>` +
    `<div style="${FONT}font-size:16px;font-weight:bold;color:#111827;line-height:1.3;margin:2px 0 0;">${esc(capitalize(w.who))}: ${esc(w.metricLabel)}</div>` +
    `<div style="${FONT}font-size:22px;font-weight:bold;color:#111827;line-height:1.3;margin:4px 0 0;">${esc(w.from)} &rarr; ${esc(w.to)} <span style="font-size:14px;font-weight:normal;color:#4b5563;">(${esc(w.change)})</span></div>` +
    `<div style="${FONT}font-size:15px;font-weight:bold;color:#9a3412;margin:2px 0 6px;">&asymp; ${esc(w.moneyPerYear)} a year at risk</div>` +
    `<p style="${TEXT}margin:0 0 6px;"><b>What this means:</b> ${esc(w.meaning)}</p>` +
    `<p style="${MUTED}margin:0;"><b>Baseline:</b> ${esc(w.baseline)}<br><b>Now:</b> ${esc(w.current)}<br><b>How sure:</b> ${esc(w.sure)}` +
    (w.arithmetic ? `<br><b>Money:</b> ${esc(w.arithmetic)}` : '') +
    `</p></td></tr></table>`
  );
}

function chartImg(c: HtmlChart): string {
  return (
    `<img src="cid:${esc(c.cid)}" width="${c.width}" alt="${esc(c.alt)}" ` +
    // the font styles dress the alt text shown when a client blocks images
    `style="display:block;width:100%;max-width:${c.width}px;height:auto;border:0;margin:0 0 14px;${FONT}font-size:13px;color:#4b5563;">`
  );
}

function heatmapTable(h: Heatmap, periodWord: string, int: (v: number) => string): string {
  if (h.rows.length === 0 || h.ages.length === 0) {
    return `<p style="${MUTED}margin:0 0 12px;">Not enough cohort history for a retention table yet.</p>`;
  }
  const th = `${FONT}font-size:11px;color:#374151;font-weight:bold;padding:3px 2px;text-align:center;border-bottom:1px solid #9ca3af;`;
  const head =
    `<tr><th style="${th}text-align:left;">Cohort</th><th style="${th}text-align:right;">Size</th>` +
    h.ages.map((k) => `<th style="${th}">${k}</th>`).join('') +
    `</tr>`;
  const body = h.rows
    .map((r) => {
      const cells = r.cells
        .map((c) => {
          if (!c || c.retention === null) return `<td style="${FONT}font-size:11px;color:#9ca3af;text-align:center;padding:3px 1px;">&ndash;</td>`;
          const { bg, fg } = heatColor(c.retention, h.max);
          // numbers only (the header says %): keeps 11 age columns inside a 390 px phone screen
          const label = `${Math.round(c.retention * 100)}${c.partial ? '*' : ''}`;
          const partialCss = c.partial ? 'font-style:italic;outline:1px dashed #374151;outline-offset:-2px;' : '';
          return `<td style="${FONT}font-size:11px;text-align:center;padding:3px 1px;background:${bg};color:${fg};${partialCss}">${label}</td>`;
        })
        .join('');
      return (
        `<tr><td style="${FONT}font-size:11px;color:#111827;padding:3px 4px 3px 0;white-space:nowrap;">${esc(r.cohort)}</td>` +
        `<td style="${FONT}font-size:11px;color:#374151;padding:3px 4px 3px 0;text-align:right;">${esc(int(r.customers))}</td>${cells}</tr>`
      );
    })
    .join('');
  const legend =
    `<p style="${MUTED}margin:6px 0 14px;">Cells: share of each cohort of ${esc(h.tier)} customers (rows, by first-purchase ${esc(periodWord)}) ` +
    `buying again at each age (columns, ${esc(periodWord)}s after the first purchase), in %. Size: customers in the cohort. Darker blue = higher retention (scale 0 to ${Math.round(h.max * 100)}%).` +
    (h.anyPartial ? ' <i>*</i> = period still in progress: shown, not compared.' : '') +
    `</p>`;
  return (
    `<div style="${FONT}font-size:15px;font-weight:bold;color:#111827;margin:4px 0 6px;">Retention of ${esc(h.tier)} customers by cohort (% buying, by age in ${esc(periodWord)}s)</div>` +
    `<table role="presentation" cellpadding="0" cellspacing="1" border="0" style="border-collapse:separate;width:100%;">${head}${body}</table>` +
    legend
  );
}

function kvTable(lines: { label: string; value: string; flag?: boolean }[]): string {
  return (
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;margin:0 0 10px;">` +
    lines
      .map(
        (l) =>
          `<tr><td style="${FONT}font-size:14px;color:#4b5563;padding:4px 8px 4px 0;border-bottom:1px solid #f3f4f6;vertical-align:top;width:45%;">${esc(l.label)}</td>` +
          `<td style="${FONT}font-size:14px;color:${l.flag ? '#9a3412' : '#111827'};${l.flag ? 'font-weight:bold;' : ''}padding:4px 0;border-bottom:1px solid #f3f4f6;vertical-align:top;">${esc(l.value)}</td></tr>`,
      )
      .join('') +
    `</table>`
  );
}

export function renderHtml(
  input: ReportInput,
  c: ReportContent,
  charts: { share: HtmlChart; retention: HtmlChart; ltv: HtmlChart },
  heat: Heatmap,
  attachments: string[],
): string {
  const noAlerts = c.warnings.length === 0;
  const out: string[] = [];
  const meta = [input.company, `Run ${input.runDate}`, `data to ${input.asOf}`].filter(Boolean).map((s) => esc(s as string)).join(' &middot; ');

  // The headline is the first line of the body (and so the inbox preview); who sent it comes under it.
  out.push(
    row(
      `<h1 style="${FONT}font-size:21px;line-height:1.3;color:#111827;margin:0;padding:0 0 4px;font-weight:bold;">${esc(c.headline)}</h1>` +
        `<div style="${FONT}font-size:12px;color:#6b7280;letter-spacing:0.3px;padding:0 0 8px;"><b style="color:#b34700;">tailwatch</b> &middot; ${meta}</div>`,
      '16px 16px 0',
    ),
  );
  out.push(row(c.summary.map((s) => `<p style="${TEXT}margin:0 0 8px;">${esc(s)}</p>`).join('')));

  // warnings
  if (!noAlerts) {
    out.push(row(`<h2 style="${H2}border-top:0;padding-top:8px;">Top warnings, by money at risk</h2>` + c.warnings.map(warningCard).join('')));
    if (c.moreWarnings > 0) {
      out.push(row(`<p style="${MUTED}margin:0 0 8px;">${c.moreWarnings} more warning${c.moreWarnings === 1 ? '' : 's'} in the attached alerts.csv.</p>`));
    }
  }

  // the long tail
  const lt = c.longTail;
  out.push(
    row(
      `<h2 style="${H2}">Small customers: the long tail</h2>` +
        `<p style="${TEXT}margin:0 0 8px;">${esc(lt.sentence)}${lt.trendSentence ? ` ${esc(lt.trendSentence)}` : ''}</p>` +
        chartImg(charts.share) +
        chartImg(charts.retention) +
        chartImg(charts.ltv) +
        heatmapTable(heat, c.periodWord, c.f.int),
    ),
  );
  if (c.mix.length > 0) {
    out.push(
      row(
        `<p style="${MUTED}margin:0 0 10px;"><b>Explained by customer mix, not behaviour</b> (reported, not a warning): ${c.mix.map(esc).join(' ')}</p>`,
      ),
    );
  }
  if (c.tooSmall.length > 0) {
    const items = c.tooSmall.slice(0, 10).map((t) => `${esc(t.who)}: ${esc(t.metric)} (${esc(t.customers)} customers)`);
    out.push(
      row(
        `<p style="${MUTED}margin:0 0 10px;"><b>Too small to judge</b> (not enough customers for a reliable test): ${items.join('; ')}` +
          (c.tooSmall.length > 10 ? `; and ${c.tooSmall.length - 10} more` : '') +
          `.</p>`,
      ),
    );
  }

  // data quality
  let quality = `<h2 style="${H2}">Data quality</h2>` + kvTable(c.quality.lines);
  if (c.quality.rejectedExamples.length > 0) {
    quality +=
      `<p style="${MUTED}margin:0 0 10px;"><b>Most common reasons for rejected rows:</b> ` +
      c.quality.rejectedExamples.map((e) => `${esc(e.reason)} (${esc(e.count)})`).join('; ') +
      `. Every rejected row is in rejects.csv beside the run.</p>`;
  }
  out.push(row(quality));

  // get the data
  out.push(
    row(
      `<h2 style="${H2}">Get the data</h2>` +
        `<p style="${TEXT}margin:0 0 6px;">All tables (${TABLE_NAMES.join(', ')}) are Parquet files, partitioned by run date, under:</p>` +
        `<p style="${FONT}font-size:13px;margin:0 0 8px;padding:6px 8px;background:#f3f4f6;color:#111827;word-break:break-all;font-family:Menlo,Consolas,monospace;">${esc(c.tablesLocation)}</p>` +
        `<p style="${TEXT}margin:0 0 6px;">This run's small-customer segments in DuckDB (in Athena, use the Glue table <code>segments</code> in the FROM line):</p>` +
        `<pre style="font-family:Menlo,Consolas,monospace;font-size:12px;line-height:1.4;margin:0 0 10px;padding:8px;background:#f3f4f6;color:#111827;white-space:pre-wrap;word-break:break-all;">${esc(c.query)}</pre>`,
    ),
  );
  out.push(
    row(
      `<p style="${MUTED}margin:0;padding:10px 0 16px;border-top:1px solid #e5e7eb;">Attached: ${attachments.map(esc).join(', ') || 'nothing'}. ` +
        `Money in ${esc(input.currency)}. Sent by tailwatch to ${input.recipients.length} recipient${input.recipients.length === 1 ? '' : 's'}.</p>${HTML_NOTE_MARKER}`,
    ),
  );

  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="color-scheme" content="light only"><meta name="supported-color-schemes" content="light">` +
    `<title>${esc(c.subject)}</title></head>` +
    `<body style="margin:0;padding:0;background:#f3f4f6;">` +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f3f4f6;border-collapse:collapse;"><tr><td align="center" style="padding:8px 6px;">` +
    `<!--[if mso]><table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->` +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:640px;width:100%;background:#ffffff;border-collapse:collapse;">` +
    out.join('\n') +
    `</table><!--[if mso]></td></tr></table><![endif]-->` +
    `</td></tr></table></body></html>\n`
  );
}

/**
 * The HTML with its cid: image references replaced by `urlFor(image)`: for report.html saved
 * beside the run (e.g. "images/share.png") or a data: URL, so it opens in a browser as mailed.
 */
export function resolveImages(html: string, images: { cid: string; filename: string; png: Uint8Array }[], urlFor: (img: { cid: string; filename: string; png: Uint8Array }) => string): string {
  let out = html;
  for (const img of images) out = out.split(`src="cid:${esc(img.cid)}"`).join(`src="${esc(urlFor(img))}"`);
  return out;
}

/** data: URL of a PNG, for a self-contained report.html. */
export function pngDataUrl(img: { png: Uint8Array }): string {
  return `data:image/png;base64,${Buffer.from(img.png).toString('base64')}`;
}
