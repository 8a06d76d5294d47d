/**
 * CLI-only: the usage report as one self-contained HTML page. Everything is inline (styles, the
 * charts as SVG drawn here, a small script that sorts the tables) and a Content-Security-Policy
 * forbids any fetch, so the page renders offline and cannot call out. It embeds only the
 * aggregates of `buildUsageReport` (groups × buckets), never a record, a key or any content.
 */
import { ERROR_CLASSES, modelLabel, OTHER_SERIES, type ReportRow, type ReportSeries, type UsageReport } from '../../lambda/admin/usage-report';

/** The privacy manifest as `/v1/privacy` serves it (only the fields the page shows). */
export interface PrivacyFacts {
  readonly stored: readonly { readonly what: string; readonly where: string; readonly retentionDays: number | null; readonly deletion: string; readonly requestMetadata?: boolean }[];
  readonly neverStored: readonly string[];
}

export interface UsageHtmlContext {
  /** "the dev server on .mixroute" or "stack Mixroute (eu-west-1)". */
  readonly source: string;
  readonly generatedAt: string;
  readonly privacy: PrivacyFacts;
  /** Where the privacy facts came from: the relay's own /v1/privacy, or this CLI's copy. */
  readonly privacySource: string;
  /** Set when key names could not be read (the report shows ids only). */
  readonly keyNamesNote?: string;
}

const PALETTE = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16', '#f97316'];
const OTHER_COLOUR = '#9ca3af';
const ERROR_COLOURS: Record<string, string> = {
  upstream_error: '#dc2626',
  timeout: '#f59e0b',
  aborted: '#6b7280',
  rate_limited: '#8b5cf6',
  client_error: '#0ea5e9',
  relay_error: '#111827',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** 1234 → "1.2k", 5600000 → "5.6M": for axes and tiles (tables show exact numbers). */
export function compactNumber(value: number): string {
  const abs = Math.abs(value);
  for (const [limit, suffix] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) {
    if (abs >= limit) return `${(value / limit).toFixed(abs >= limit * 10 ? 0 : 1).replace(/\.0$/, '')}${suffix}`;
  }
  return String(Math.round(value * 100) / 100);
}

const exact = (value: number) => value.toLocaleString('en-US');
const percent = (share: number) => `${(share * 100).toFixed(share > 0 && share < 0.001 ? 2 : 1)}%`;

/** A rounded axis maximum: 1, 2, 2.5 or 5 × 10^n, at least the largest stacked value. */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function bucketLabel(iso: string, bucket: 'hour' | 'day'): string {
  return bucket === 'hour' ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}

/** Keys or models: the palette in rank order, grey for the folded "(other)". */
function groupColour(series: ReportSeries, index: number): string {
  return series.name === OTHER_SERIES ? OTHER_COLOUR : PALETTE[index % PALETTE.length];
}

function errorColour(series: ReportSeries): string {
  return ERROR_COLOURS[series.name] ?? OTHER_COLOUR;
}

/** A stacked bar chart: one `<g data-series>` per series, one `<rect data-point>` per bucket in each. */
function stackedBars(id: string, title: string, series: readonly ReportSeries[], report: UsageReport, colour: (s: ReportSeries, i: number) => string): string {
  const width = 640;
  const height = 250;
  const left = 58;
  const right = 12;
  const top = 12;
  const bottom = 36;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const count = report.buckets.length;
  const totals = report.buckets.map((_, b) => series.reduce((sum, s) => sum + s.points[b], 0));
  const max = niceMax(Math.max(0, ...totals));
  const slot = plotW / count;
  const barW = Math.max(1, Math.min(48, slot * 0.72));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<line x1="${left}" x2="${width - right}" y1="${y(max * f).toFixed(1)}" y2="${y(max * f).toFixed(1)}" class="grid"/><text x="${left - 6}" y="${(y(max * f) + 4).toFixed(1)}" class="axis" text-anchor="end">${compactNumber(max * f)}</text>`)
    .join('');
  const every = Math.max(1, Math.ceil(count / (report.bucket === 'hour' ? 6 : 8)));
  const labels = report.buckets
    .map((iso, b) => (b % every === 0 ? `<text x="${(left + slot * b + slot / 2).toFixed(1)}" y="${height - 12}" class="axis" text-anchor="middle">${escapeHtml(bucketLabel(iso, report.bucket))}</text>` : ''))
    .join('');
  const base = new Array<number>(count).fill(0);
  const groups = series
    .map((s, i) => {
      const rects = s.points
        .map((value, b) => {
          const y0 = y(base[b]);
          base[b] += value;
          const y1 = y(base[b]);
          const x = left + slot * b + (slot - barW) / 2;
          return `<rect data-point="${b}" data-value="${value}" x="${x.toFixed(1)}" y="${y1.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(0, y0 - y1).toFixed(1)}"><title>${escapeHtml(`${s.label}, ${bucketLabel(report.buckets[b], report.bucket)}: ${exact(value)}`)}</title></rect>`;
        })
        .join('');
      return `<g data-series="${escapeHtml(s.name)}" fill="${colour(s, i)}">${rects}</g>`;
    })
    .join('');
  const legend = series
    .map((s, i) => `<li><span class="swatch" style="background:${colour(s, i)}"></span>${escapeHtml(s.label)} <span class="muted">${exact(s.points.reduce((a, b) => a + b, 0))}</span></li>`)
    .join('');
  const empty = series.length === 0 || totals.every((t) => t === 0) ? '<p class="muted">Nothing in this period.</p>' : '';
  return `<figure class="chart" id="${id}" data-chart="${id}">
<figcaption>${escapeHtml(title)} per ${report.bucket} (UTC)</figcaption>
<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}">${grid}${groups}${labels}</svg>
<ul class="legend">${legend}</ul>${empty}
</figure>`;
}

function rowsTable(id: string, title: string, rows: readonly ReportRow[], totals: ReportRow, withKey: boolean): string {
  const head = [
    ...(withKey ? [['name', 'text'], ['key id', 'text']] : [['model', 'text']]),
    ['requests', 'num'], ['input tokens', 'num'], ['output tokens', 'num'], ['cached input', 'num'], ['cache writes', 'num'], ['reasoning', 'num'],
    ['errors', 'num'], ...ERROR_CLASSES.map(({ label }) => [label, 'num']),
    ['p50 ms', 'num'], ['p99 ms', 'num'], ['share of requests', 'num'], ['share of tokens', 'num'],
  ];
  const cells = (row: ReportRow, first: string[]) => [
    ...first.map((text) => `<td data-v="${escapeHtml(text)}">${escapeHtml(text)}</td>`),
    ...[row.requests, row.inputTokens, row.outputTokens, row.cachedInputTokens, row.cacheWriteTokens, row.reasoningTokens, row.errors, ...ERROR_CLASSES.map(({ name }) => row.errorsByClass[name]), row.p50LatencyMs, row.p99LatencyMs]
      .map((v) => `<td class="n" data-v="${v}">${exact(v)}</td>`),
    `<td class="n" data-v="${row.shareOfRequests}">${percent(row.shareOfRequests)}</td>`,
    `<td class="n" data-v="${row.shareOfTokens}">${percent(row.shareOfTokens)}</td>`,
  ].join('');
  const body = rows.map((row) => `<tr>${cells(row, withKey ? [row.name ?? '', row.group] : [modelLabel(row.group)])}</tr>`).join('\n');
  const foot = `<tr>${cells(totals, withKey ? ['total', ''] : ['total'])}</tr>`;
  return `<section>
<h2>${escapeHtml(title)}</h2>
<div class="scroll"><table class="sortable" id="${id}">
<thead><tr>${head.map(([label, kind]) => `<th data-kind="${kind}" tabindex="0" aria-sort="none">${escapeHtml(label)}</th>`).join('')}</tr></thead>
<tbody>
${body || `<tr><td colspan="${head.length}" class="muted">No requests in this period.</td></tr>`}
</tbody>
<tfoot>${foot}</tfoot>
</table></div>
</section>`;
}

function privacySection(context: UsageHtmlContext): string {
  const rows = context.privacy.stored
    .map((s) => `<tr><td>${escapeHtml(s.what)}</td><td>${escapeHtml(s.where)}</td><td>${s.retentionDays === null ? 'until removed' : `${s.retentionDays} days`}</td><td>${escapeHtml(s.deletion)}</td></tr>`)
    .join('\n');
  const never = context.privacy.neverStored.map((s) => `<li>${escapeHtml(s)}</li>`).join('');
  return `<section id="privacy">
<h2>What the relay keeps</h2>
<p>This report is made only from usage records: when, which key (its id and name), which model and
provider, token counts, status, outcome and latency. No prompt or response text exists in the relay
to show, and none is in this file; neither is any key, hash or IP address. From ${escapeHtml(context.privacySource)}:</p>
<div class="scroll"><table class="wrap"><thead><tr><th>what</th><th>where</th><th>kept</th><th>deletion</th></tr></thead><tbody>
${rows}
</tbody></table></div>
<p>Never stored:</p><ul>${never}</ul>
</section>`;
}

const STYLE = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;background:#f9fafb}
body{margin:0 auto;max-width:1400px;padding:20px}
h1{font-size:1.5rem;margin:0 0 4px}h2{font-size:1.1rem;margin:28px 0 8px}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0 16px;font-size:.9rem}
.meta dt{color:#6b7280}.meta dd{margin:0}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}
.tile{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px}
.tile b{display:block;font-size:1.3rem}.tile span{color:#6b7280;font-size:.8rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px}
.chart{background:#fff;border:1px solid #e5e7eb;border-radius:8px;margin:0;padding:10px}
figcaption{font-weight:600;font-size:.9rem;margin-bottom:4px}
svg{width:100%;height:auto;display:block}
.grid{stroke:#e5e7eb}.axis{font-size:12px;fill:#6b7280}
.legend{list-style:none;padding:0;margin:6px 0 0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.8rem}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.muted{color:#6b7280}
.scroll{overflow-x:auto;background:#fff;border:1px solid #e5e7eb;border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:.76rem}
th,td{padding:4px 5px;border-bottom:1px solid #f3f4f6;text-align:left;white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums}
thead th{position:sticky;top:0;background:#f3f4f6;white-space:normal;vertical-align:bottom}
table.sortable thead th{cursor:pointer;user-select:none}
table.wrap td{white-space:normal}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tfoot td{font-weight:600;border-top:2px solid #e5e7eb}
@media print{body{background:#fff}.chart,.scroll,.tile{break-inside:avoid}}
`;

/** Sorts a table by the clicked column (numbers by value, text alphabetically); the total row stays at the foot. */
const SCRIPT = `
document.querySelectorAll('table.sortable').forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    function sort() {
      var descending = th.getAttribute('aria-sort') !== 'descending';
      Array.prototype.forEach.call(heads, function (h) { h.setAttribute('aria-sort', 'none'); });
      th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      var numeric = th.getAttribute('data-kind') === 'num';
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length === heads.length; });
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
        var order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return descending ? -order : order;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener('click', sort);
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
  });
});
`;

export function renderUsageHtml(report: UsageReport, context: UsageHtmlContext): string {
  const t = report.totals;
  const tiles = [
    ['requests', t.requests], ['input tokens', t.inputTokens], ['output tokens', t.outputTokens], ['cached input tokens', t.cachedInputTokens],
    ['reasoning tokens', t.reasoningTokens], ['errors', t.errors],
  ]
    .map(([label, value]) => `<div class="tile" title="${exact(value as number)}"><b>${compactNumber(value as number)}</b><span>${label}</span></div>`)
    .join('');
  const errorRate = t.requests === 0 ? '0%' : percent(t.errors / t.requests);
  const charts = report.charts.map((chart) => stackedBars(`chart-${chart.metric}`, `${chart.label}, by ${report.by}`, chart.series, report, groupColour)).join('\n');
  const errors = stackedBars('chart-errors', 'Errors, by outcome', report.errors, report, errorColour);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="referrer" content="no-referrer">
<title>Mixroute usage ${escapeHtml(report.since.slice(0, 16))} to ${escapeHtml(report.until.slice(0, 16))}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Mixroute usage report</h1>
<dl class="meta">
<dt>period</dt><dd>${escapeHtml(report.since)} to ${escapeHtml(report.until)} (UTC, per ${report.bucket})</dd>
<dt>source</dt><dd>${escapeHtml(context.source)}</dd>
<dt>generated</dt><dd>${escapeHtml(context.generatedAt)}</dd>
<dt>records</dt><dd>${exact(report.records)} usage records (expired ones excluded), charted by ${report.by}; error rate ${errorRate}</dd>
<dt>kept</dt><dd>usage records ${context.privacy.stored.find((s) => s.where === 'usage table')?.retentionDays ?? 7} days, then deleted; no content is ever stored (see <a href="#privacy">what the relay keeps</a>)</dd>
${context.keyNamesNote ? `<dt>note</dt><dd>${escapeHtml(context.keyNamesNote)}</dd>` : ''}
</dl>
<div class="tiles">${tiles}</div>
</header>
<main>
<h2>Over time</h2>
<div class="charts">
${charts}
${errors}
</div>
${rowsTable('table-keys', 'Per key', report.keys, t, true)}
${rowsTable('table-models', 'Per model', report.models, t, false)}
${privacySection(context)}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
