// Usage over a period as an SVG bar chart (uses, credits spent and denials per
// hour or day), the totals with denials by code, and the same numbers as a
// table for screen readers and copying.

import { h, svg } from '../dom.js';
import { formatNumber } from '../format.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export const RANGES = {
  '24h': { span: DAY_MS, bucket: 'hour', label: 'last 24 hours' },
  '7d': { span: 7 * DAY_MS, bucket: 'day', label: 'last 7 days' },
  '30d': { span: 30 * DAY_MS, bucket: 'day', label: 'last 30 days' },
};

const SERIES = [
  { key: 'uses', label: 'Uses', className: 'bar-uses' },
  { key: 'credits_spent', label: 'Credits spent', className: 'bar-credits' },
  { key: 'denied_total', label: 'Denied', className: 'bar-denied' },
];

const bucketMs = (bucket) => (bucket === 'hour' ? HOUR_MS : DAY_MS);
const floorTo = (time, size) => Math.floor(time / size) * size;  // UTC hours and days

// The query for GET /v1/tokens/{id}/usage over `range` ending now.
export function usageQuery(range, now = Date.now()) {
  const { span, bucket } = RANGES[range];
  const from = floorTo(now - span, bucketMs(bucket)) + bucketMs(bucket);
  return { from: new Date(from).toISOString(), to: new Date(now).toISOString(), bucket };
}

const sum = (denied) => Object.values(denied || {}).reduce((a, b) => a + b, 0);

// One entry per bucket in the period, zero where the API returned none.
function fillBuckets(usage, query) {
  const size = bucketMs(query.bucket);
  const byStart = new Map();
  for (const bucket of usage.buckets || []) byStart.set(floorTo(Date.parse(bucket.start), size), bucket);
  const slots = [];
  for (let start = floorTo(Date.parse(query.from), size); start <= Date.parse(query.to); start += size) {
    const bucket = byStart.get(start) || {};
    slots.push({
      start,
      uses: bucket.uses || 0,
      credits_spent: bucket.credits_spent || 0,
      denied: bucket.denied || {},
      denied_total: sum(bucket.denied),
    });
  }
  return slots;
}

export function renderUsage(container, usage, query, rangeLabel) {
  const slots = fillBuckets(usage, query);
  const total = usage.total || { uses: 0, credits_spent: 0, denied: {} };
  const deniedTotal = sum(total.denied);
  const width = Math.max(300, Math.floor(container.clientWidth || 600));
  const summary = `${formatNumber(total.uses)} uses, ${formatNumber(total.credits_spent)} credits spent and `
    + `${formatNumber(deniedTotal)} denials in the ${rangeLabel}.`;

  container.replaceChildren(
    h('dl', { class: 'totals' },
      total_('Uses', total.uses, 'usage-total-uses'),
      total_('Credits spent', total.credits_spent, 'usage-total-credits'),
      total_('Denied', deniedTotal, 'usage-total-denied')),
    deniedByCode(total.denied),
    legend(),
    chart(slots, query.bucket, width, summary),
    table(slots, query.bucket));
}

function total_(label, value, testid) {
  return h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, formatNumber(value || 0)));
}

function deniedByCode(denied = {}) {
  const codes = Object.entries(denied).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  if (codes.length === 0) return h('p', { class: 'hint' }, 'No denials.');
  return h('ul', { class: 'denied-codes', 'aria-label': 'Denials by code', 'data-testid': 'usage-denied-codes' },
    codes.map(([code, n]) => h('li', {}, h('code', {}, code), ` ${formatNumber(n)}`)));
}

function legend() {
  return h('ul', { class: 'legend', 'aria-hidden': 'true' },
    SERIES.map((s) => h('li', {}, h('span', { class: `swatch ${s.className}` }), s.label)));
}

// Hours in local time; days are UTC days, as the API buckets them.
const labelFormat = {
  hour: new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }),
  day: new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' }),
};
const rowFormat = {
  hour: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
  day: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' }),
};

function chart(slots, bucket, width, summary) {
  const height = 220;
  const margin = { top: 12, right: 8, bottom: 28, left: 40 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const max = Math.max(1, ...slots.flatMap((s) => SERIES.map((series) => s[series.key])));
  const y = (value) => margin.top + plotHeight - (value / max) * plotHeight;
  const slotWidth = plotWidth / slots.length;
  const barWidth = Math.max(1, (slotWidth * 0.8) / SERIES.length);

  const gridValues = max >= 2 ? [0, Math.round(max / 2), max] : [0, max];
  const grid = gridValues.map((value) => svg('g', { class: 'grid' },
    svg('line', { x1: margin.left, x2: width - margin.right, y1: y(value), y2: y(value) }),
    svg('text', { x: margin.left - 6, y: y(value) + 4, 'text-anchor': 'end' }, formatNumber(value))));

  const labelEvery = Math.ceil(slots.length / Math.max(2, Math.floor(plotWidth / 70)));
  const bars = slots.map((slot, index) => {
    const x0 = margin.left + index * slotWidth + slotWidth * 0.1;
    const when = labelFormat[bucket].format(new Date(slot.start));
    const tip = `${rowFormat[bucket].format(new Date(slot.start))}: ${slot.uses} uses, ${slot.credits_spent} credits, `
      + `${slot.denied_total} denied`;
    return svg('g', { class: 'slot', 'data-start': new Date(slot.start).toISOString(), 'data-uses': slot.uses },
      svg('title', {}, tip),
      SERIES.map((series, i) => svg('rect', {
        class: series.className,
        x: x0 + i * barWidth,
        y: y(slot[series.key]),
        width: barWidth,
        height: Math.max(0, margin.top + plotHeight - y(slot[series.key])),
      })),
      index % labelEvery === 0
        ? svg('text', { class: 'axis-label', x: x0 + (barWidth * SERIES.length) / 2, y: height - 8, 'text-anchor': 'middle' }, when)
        : null);
  });

  return svg('svg', {
    class: 'usage-chart', width, height, viewBox: `0 0 ${width} ${height}`,
    role: 'img', 'aria-label': `Usage chart: ${summary}`, 'data-testid': 'usage-chart',
  }, grid, bars);
}

function table(slots, bucket) {
  const withData = slots.filter((s) => s.uses || s.credits_spent || s.denied_total);
  return h('details', { class: 'usage-table' },
    h('summary', {}, 'Show the numbers'),
    withData.length === 0
      ? h('p', {}, 'No use in this period.')
      : h('table', {},
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, bucket === 'hour' ? 'Hour starting' : 'Day (UTC)'),
          h('th', { scope: 'col' }, 'Uses'), h('th', { scope: 'col' }, 'Credits spent'), h('th', { scope: 'col' }, 'Denied'))),
        h('tbody', {}, withData.map((s) => h('tr', {},
          h('td', {}, rowFormat[bucket].format(new Date(s.start))),
          h('td', { class: 'num' }, formatNumber(s.uses)),
          h('td', { class: 'num' }, formatNumber(s.credits_spent)),
          h('td', { class: 'num' }, Object.entries(s.denied).map(([c, n]) => `${c} ${n}`).join(', ') || '0'))))));
}
