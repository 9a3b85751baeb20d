// The token's events as a timeline, newest first: what changed, when, and by
// which actor. Verifications (token.used / token.use_denied) can be many, so
// they are left out unless asked for.

import { h } from '../dom.js';
import { formatActor, formatCredits, formatList, formatNumber, formatRateLimit, formatRefill, timeElement } from '../format.js';

const TITLES = {
  'token.created': 'Created',
  'token.updated': 'Updated',
  'token.permissions_changed': 'Permissions changed',
  'token.regenerated': 'Secret regenerated',
  'token.used': 'Used',
  'token.use_denied': 'Use denied',
  'token.revoked': 'Revoked',
  'token.credits_adjusted': 'Credits adjusted',
};

const VERIFICATIONS = new Set(['token.used', 'token.use_denied']);

// actorName(actor) gives a display name for an actor id, or null.
export function renderHistory(list, events, { includeVerifications, actorName = () => null }) {
  const shown = events.filter((event) => includeVerifications || !VERIFICATIONS.has(event.type));
  const items = [...shown].reverse().map((event) => item(event, actorName(event.actor)));
  const hidden = events.length - shown.length;
  if (hidden > 0) {
    items.push(h('li', { class: 'timeline-note' },
      `${formatNumber(hidden)} verification${hidden === 1 ? '' : 's'} not shown.`));
  }
  if (events.length === 0) items.push(h('li', { class: 'timeline-note' }, 'No events.'));
  list.replaceChildren(...items);
}

function item(event, actorName) {
  const actor = formatActor(event.actor);
  return h('li', { class: `timeline-item type-${event.type.replace('token.', '').replaceAll('_', '-')}`,
    'data-testid': 'history-item', 'data-type': event.type },
    h('div', { class: 'timeline-head' },
      h('strong', {}, TITLES[event.type] || event.type),
      ' ', timeElement(event.time),
      h('span', { class: 'sub' }, ' by ', actorName ? `${actorName} (${actor})` : actor,
        ` · version ${event.version} · position ${event.position}`)),
    changes(event));
}

// A list of "what changed" lines for the event's data (events/DATA.md).
function changes(event) {
  const data = event.data || {};
  const lines = [];
  const line = (label, ...value) => lines.push(h('li', {}, h('span', { class: 'label' }, `${label}: `), ...value));
  switch (event.type) {
    case 'token.created':
      line('Name', data.name);
      line('Permissions', formatList(data.permissions, 'none'));
      line('Expires', timeElement(data.expires_at, 'Never'));
      line('Credits', formatCredits(data.credits), data.credits ? ` (${formatRefill(data.credits.refill)})` : '');
      if (data.rate_limit) line('Rate limit', formatRateLimit(data.rate_limit));
      break;
    case 'token.updated':
      for (const [key, value] of Object.entries(data)) line(fieldLabel(key), describeValue(key, value));
      break;
    case 'token.permissions_changed': {
      const before = new Set(data.previous || []);
      const after = new Set(data.permissions || []);
      const added = [...after].filter((p) => !before.has(p));
      const removed = [...before].filter((p) => !after.has(p));
      if (added.length) line('Added', h('code', { class: 'added' }, added.join(', ')));
      if (removed.length) line('Removed', h('code', { class: 'removed' }, removed.join(', ')));
      line('Now', formatList(data.permissions, 'none'));
      break;
    }
    case 'token.regenerated':
      line('New secret', data.hint || '');
      line('Old secret valid until', timeElement(data.previous_valid_until));
      break;
    case 'token.used':
      line('Cost', formatNumber(data.cost ?? 0));
      if (data.permissions) line('Asked for', Array.isArray(data.permissions) ? data.permissions.join(', ') : data.permissions);
      if (data.origin) line('Origin', data.origin);
      if (data.ip) line('IP', data.ip);
      break;
    case 'token.use_denied':
      line('Code', h('code', {}, data.code));
      if (data.origin) line('Origin', data.origin);
      if (data.ip) line('IP', data.ip);
      break;
    case 'token.revoked':
      line('Reason', data.reason || '(none given)');
      break;
    case 'token.credits_adjusted':
      if ('set' in data) line('Set to', formatNumber(data.set));
      if ('add' in data) line('Added', formatNumber(data.add));
      line('Balance', formatNumber(data.balance));
      break;
    default:
      line('Data', JSON.stringify(data));
  }
  return h('ul', { class: 'changes' }, lines);
}

const LABELS = {
  name: 'Name', description: 'Description', expires_at: 'Expires', refill: 'Refill',
  rate_limit: 'Rate limit', allowed_origins: 'Allowed origins', allowed_ips: 'Allowed IPs', meta: 'Meta',
};

function fieldLabel(key) {
  return LABELS[key] || key;
}

function describeValue(key, value) {
  switch (key) {
    case 'expires_at': return timeElement(value, 'Never');
    case 'refill': return formatRefill(value);
    case 'rate_limit': return formatRateLimit(value);
    case 'allowed_origins':
    case 'allowed_ips': return formatList(value);
    case 'meta': return JSON.stringify(value);
    default: return value === '' ? '(empty)' : String(value);
  }
}
