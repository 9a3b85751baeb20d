// The tokens table: newest first (the API's order), a status filter applied by
// the API, a search box that filters the tokens of the page already loaded,
// and paging through the API's cursor.

import { api } from '../api.js';
import { $, h, setMessage } from '../dom.js';
import { formatCredits, statusBadge, summarisePermissions, timeElement } from '../format.js';
import { tokenHash } from '../router.js';

const PAGE_SIZE = 20;

const state = {
  status: '',
  cursors: [null],  // cursors[i] loads page i; cursors[0] is the first page
  page: 0,
  nextCursor: null,
  tokens: [],
};

export function initTokenList() {
  $('#list-filters').addEventListener('submit', (event) => event.preventDefault());
  $('#list-search').addEventListener('input', renderRows);
  $('#list-status').addEventListener('change', (event) => {
    state.status = event.target.value;
    state.cursors = [null];
    state.page = 0;
    load();
  });
  $('#list-next').addEventListener('click', () => {
    if (!state.nextCursor) return;
    state.cursors[state.page + 1] = state.nextCursor;
    state.page += 1;
    load();
  });
  $('#list-prev').addEventListener('click', () => {
    if (state.page === 0) return;
    state.page -= 1;
    load();
  });
}

// Shows the list, reloading the current page (so changes made elsewhere show).
export function showTokenList() {
  return load();
}

async function load() {
  const message = $('#list-message');
  $('#token-rows').setAttribute('aria-busy', 'true');
  try {
    const result = await api.listTokens({ status: state.status, cursor: state.cursors[state.page], limit: PAGE_SIZE });
    state.tokens = result.tokens || [];
    state.nextCursor = result.next_cursor || null;
    setMessage(message, '');
  } catch (error) {
    if (error.status === 401) return;
    state.tokens = [];
    state.nextCursor = null;
    setMessage(message, `Could not load the tokens: ${error.message}`);
  } finally {
    $('#token-rows').removeAttribute('aria-busy');
  }
  renderRows();
  $('#list-prev').disabled = state.page === 0;
  $('#list-next').disabled = !state.nextCursor;
  $('#list-page').textContent = `Page ${state.page + 1}`;
}

function matches(token, query) {
  if (!query) return true;
  const haystack = [token.name, token.description, token.owner, token.id, ...(token.permissions || [])]
    .join('\n').toLowerCase();
  return haystack.includes(query);
}

function renderRows() {
  const query = $('#list-search').value.trim().toLowerCase();
  const shown = state.tokens.filter((token) => matches(token, query));
  $('#token-rows').replaceChildren(...shown.map(row));
  const empty = $('#list-empty');
  empty.hidden = shown.length > 0;
  empty.textContent = state.tokens.length && query ? 'No token on this page matches the search.' : 'No tokens to show.';
}

function row(token) {
  const cell = (label, ...content) => h('td', { 'data-label': label }, ...content);
  return h('tr', { 'data-token-id': token.id, 'data-testid': 'token-row' },
    h('th', { scope: 'row', 'data-label': 'Name' },
      h('a', { href: tokenHash(token.id), 'data-testid': 'token-link' }, token.name),
      h('span', { class: 'sub' }, token.hint || token.id)),
    cell('Description', h('span', { class: 'clamp' }, token.description || '—')),
    cell('Owner', token.owner),
    cell('Permissions', h('span', { title: (token.permissions || []).join('\n') }, summarisePermissions(token.permissions))),
    cell('Status', statusBadge(token.status)),
    cell('Created', timeElement(token.created_at)),
    cell('Last used', timeElement(token.last_used_at, 'Never')),
    cell('Expires', timeElement(token.expires_at, 'Never')),
    cell('Credits', h('span', { class: 'num' }, formatCredits(token.credits))));
}
