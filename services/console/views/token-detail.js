// One token: every field, the actions (edit, regenerate, credits, revoke),
// its usage chart and its history.

import { api } from '../api.js';
import { $, announce, h, setMessage } from '../dom.js';
import { confirmDialog, showSecret } from '../dialogs.js';
import {
  formatCredits, formatList, formatNumber, formatRateLimit, formatRefill, statusBadge, timeElement,
} from '../format.js';
import { renderHistory } from './history.js';
import { RANGES, renderUsage, usageQuery } from './usage-chart.js';

const EVENTS_PAGE = 1000;
const MAX_EVENT_PAGES = 20;

let current = null;    // the token shown
let events = [];       // its events, oldest first
let lastUsage = null;  // { usage, query, range } for re-drawing on resize

export function initTokenDetail() {
  $('#detail-regenerate').addEventListener('click', regenerate);
  $('#detail-revoke').addEventListener('click', revoke);
  $('#detail-credits').addEventListener('click', adjustCredits);
  $('#history-uses').addEventListener('change', drawHistory);
  for (const radio of document.querySelectorAll('input[name=usage-range]')) {
    radio.addEventListener('change', () => current && loadUsage(current.id));
  }
  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(drawUsage, 150);
  });
}

export async function showTokenDetail(id) {
  const message = $('#detail-message');
  setMessage(message, '');
  try {
    render(await api.getToken(id));
  } catch (error) {
    if (error.status === 401) return;
    current = null;
    $('#detail-title').textContent = 'Token';
    $('#detail-fields').replaceChildren();
    setMessage(message, error.status === 404 ? `There is no token ${id}.` : error.message);
    return;
  }
  await Promise.all([loadHistory(id), loadUsage(id)]);
}

// Refreshes everything after a change (history and usage may have moved too).
async function refresh(token) {
  render(token);
  await Promise.all([loadHistory(token.id), loadUsage(token.id)]);
}

function render(token) {
  current = token;
  document.title = `${token.name} · tokenledger console`;
  $('#detail-title').textContent = token.name;
  $('#detail-status').replaceChildren(statusBadge(token.status));
  $('#detail-edit').href = `#/tokens/${encodeURIComponent(token.id)}/edit`;
  const revoked = token.status === 'revoked';
  for (const id of ['#detail-regenerate', '#detail-revoke', '#detail-credits']) $(id).disabled = revoked;
  $('#detail-credits').disabled = revoked || !token.credits;
  $('#detail-edit').hidden = revoked;

  const row = (label, key, ...value) => [
    h('dt', {}, label),
    h('dd', { 'data-field': key }, ...value),
  ];
  $('#detail-fields').replaceChildren(
    ...row('ID', 'id', h('code', {}, token.id)),
    ...row('Owner', 'owner', token.owner),
    ...row('Name', 'name', token.name),
    ...row('Description', 'description', token.description || '—'),
    ...row('Status', 'status', statusBadge(token.status)),
    ...row('Permissions', 'permissions', (token.permissions || []).length
      ? h('ul', { class: 'plain' }, token.permissions.map((p) => h('li', {}, h('code', {}, p))))
      : 'None'),
    ...row('Created', 'created_at', timeElement(token.created_at)),
    ...row('Updated', 'updated_at', timeElement(token.updated_at)),
    ...row('Last used', 'last_used_at', timeElement(token.last_used_at, 'Never')),
    ...row('Expires', 'expires_at', timeElement(token.expires_at, 'Never')),
    ...row('Credits remaining', 'credits', formatCredits(token.credits)),
    ...row('Refill', 'refill', token.credits ? formatRefill(token.credits.refill) : '—'),
    ...row('Rate limit', 'rate_limit', formatRateLimit(token.rate_limit)),
    ...row('Allowed origins', 'allowed_origins', formatList(token.allowed_origins)),
    ...row('Allowed IPs', 'allowed_ips', formatList(token.allowed_ips)),
    ...row('Secret hint', 'hint', h('code', {}, token.hint || '—')),
    ...row('Meta', 'meta', token.meta && Object.keys(token.meta).length
      ? h('pre', {}, JSON.stringify(token.meta, null, 2)) : '—'),
    ...row('Version', 'version', String(token.version)));
}

async function loadHistory(id) {
  const loaded = [];
  let after;
  try {
    for (let page = 0; page < MAX_EVENT_PAGES; page++) {
      const result = await api.events(id, { after, limit: EVENTS_PAGE });
      const batch = result.events || [];
      loaded.push(...batch);
      if (batch.length < EVENTS_PAGE) break;
      after = batch[batch.length - 1].version;
    }
  } catch (error) {
    if (error.status !== 401) $('#history').replaceChildren(h('li', { class: 'alert' }, `Could not load the history: ${error.message}`));
    return;
  }
  if (current?.id !== id) return;
  events = loaded;
  drawHistory();
  await nameActors(id);
}

// Actors are token ids; show the names of those the caller may read.
const actorNames = new Map();  // token id → name, or null when not readable

async function nameActors(id) {
  const unknown = [...new Set(events.map((event) => event.actor))]
    .filter((actor) => typeof actor === 'string' && actor.startsWith('tok_') && !actorNames.has(actor));
  if (unknown.length === 0) return;
  await Promise.all(unknown.map(async (actor) => {
    try {
      actorNames.set(actor, (await api.getToken(actor)).name);
    } catch {
      actorNames.set(actor, null);
    }
  }));
  if (current?.id === id) drawHistory();
}

function drawHistory() {
  renderHistory($('#history'), events, {
    includeVerifications: $('#history-uses').checked,
    actorName: (actor) => actorNames.get(actor) || null,
  });
}

async function loadUsage(id) {
  const range = document.querySelector('input[name=usage-range]:checked').value;
  const query = usageQuery(range);
  const container = $('#usage');
  container.setAttribute('aria-busy', 'true');
  try {
    const usage = await api.usage(id, query);
    if (current?.id !== id) return;
    lastUsage = { usage, query, range };
    drawUsage();
  } catch (error) {
    if (error.status !== 401) container.replaceChildren(h('p', { class: 'alert' }, `Could not load the usage: ${error.message}`));
  } finally {
    container.removeAttribute('aria-busy');
  }
}

function drawUsage() {
  if (!lastUsage || $('#view-detail').hidden) return;
  renderUsage($('#usage'), lastUsage.usage, lastUsage.query, RANGES[lastUsage.range].label);
}

async function regenerate() {
  const token = current;
  const result = await confirmDialog('regenerate-dialog', {
    action: (form) => api.regenerate(token.id, Number(form.elements.grace_period_s.value)),
  });
  if (!result) return;
  const { token: secret, ...resource } = result;
  await showSecret(secret);
  announce('The secret was regenerated.');
  await refresh(resource);
  $('#detail-regenerate').focus();
}

async function revoke() {
  const token = current;
  const result = await confirmDialog('revoke-dialog', {
    action: (form) => api.revoke(token.id, form.elements.reason.value.trim()),
  });
  if (!result) return;
  announce(`${result.name} was revoked.`);
  await refresh(result);
  $('#detail-title').focus();
}

async function adjustCredits() {
  const token = current;
  const result = await confirmDialog('credits-dialog', {
    prepare: (form) => {
      $('#credits-current').textContent = `Current balance: ${formatNumber(token.credits?.remaining ?? 0)}.`;
    },
    action: (form) => {
      const mode = form.elements.mode.value;
      return api.adjustCredits(token.id, { [mode]: Number(form.elements.amount.value) });
    },
  });
  if (!result) return;
  announce(`Credits are now ${formatCredits(result.credits)}.`);
  await refresh(result);
  $('#detail-credits').focus();
}
