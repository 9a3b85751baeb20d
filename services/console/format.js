// How values from the API are shown. Times are shown in the browser's time
// zone inside <time> elements that carry the exact UTC value.

import { h } from './dom.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const number = new Intl.NumberFormat();

export function formatNumber(value) {
  return number.format(value);
}

// A <time> element, or `empty` when there is no time.
export function timeElement(iso, empty = '—') {
  if (!iso) return empty;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h('time', { datetime: iso, title: iso }, dateTime.format(date));
}

export function summarisePermissions(permissions = []) {
  if (permissions.length === 1 && permissions[0] === '*:read') return 'Read only';
  if (permissions.length === 1 && permissions[0] === '*:*') return 'Full access';
  if (permissions.length === 0) return 'None';
  const shown = permissions.slice(0, 2).join(', ');
  return permissions.length > 2 ? `${shown} +${permissions.length - 2} more` : shown;
}

const intervals = { day: 'daily', month: 'monthly' };

export function formatCredits(credits) {
  if (!credits) return 'Unlimited';
  return formatNumber(credits.remaining);
}

export function formatRefill(refill) {
  if (!refill) return 'No refill';
  return `Refills to ${formatNumber(refill.amount)} ${intervals[refill.interval] || refill.interval} (UTC)`;
}

export function formatDuration(ms) {
  const units = [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000], ['second', 1000]];
  for (const [unit, size] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${ms} ms`;
}

export function formatRateLimit(rateLimit) {
  if (!rateLimit) return 'No limit';
  return `${formatNumber(rateLimit.limit)} per ${formatDuration(rateLimit.window_ms)}`;
}

export function formatList(values, empty = 'Any') {
  return values && values.length ? values.join(', ') : empty;
}

export function statusBadge(status) {
  return h('span', { class: `status status-${status}` }, status);
}

// Who did something: the API gives the actor of an event as an id string or
// as an object naming a token.
export function formatActor(actor) {
  if (!actor) return 'unknown';
  if (typeof actor === 'string') return actor;
  return actor.token_id || actor.id || actor.name || JSON.stringify(actor);
}
