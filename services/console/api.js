// The console's only way to the server: the /v1 HTTP API on this origin.
// Every call sends the session's token as a bearer header. Failures become
// ApiError (with the problem+json fields); a 401 also calls the handler set by
// onUnauthorized, which sends the user back to the sign-in screen.

import { getToken } from './session.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `Request failed (HTTP ${status})`);
    this.name = 'ApiError';
    this.status = status;
    this.title = problem.title || '';
    this.detail = problem.detail || '';
    this.field = problem.field || null;
  }
}

let unauthorizedHandler = () => {};

export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

async function request(method, path, { query, body, headers = {}, token = getToken() } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
  }
  const init = {
    method,
    headers: { Accept: 'application/json', Authorization: `Bearer ${token || ''}`, ...headers },
    cache: 'no-store',
    credentials: 'omit',
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }

  let response;
  try {
    response = await fetch(url, init);
  } catch (cause) {
    throw new ApiError(0, { title: 'Network error', detail: 'The server could not be reached. Is tokenledger running?' });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text.slice(0, 200) };
    }
  }
  if (response.status === 401) {
    const error = new ApiError(401, data || {});
    unauthorizedHandler(error);
    throw error;
  }
  if (!response.ok) throw new ApiError(response.status, data || {});
  return data;
}

const tokenPath = (id) => `/v1/tokens/${encodeURIComponent(id)}`;

export const api = {
  // Used by sign-in to test a token before keeping it.
  checkToken: (token) => request('GET', '/v1/tokens', { query: { limit: 1 }, token }),
  listTokens: ({ status, cursor, limit }) => request('GET', '/v1/tokens', { query: { status, cursor, limit } }),
  getToken: (id) => request('GET', tokenPath(id)),
  createToken: (body) => request('POST', '/v1/tokens', { body }),
  updateToken: (id, version, patch) =>
    request('PATCH', tokenPath(id), { body: patch, headers: { 'If-Match': String(version) } }),
  regenerate: (id, gracePeriodS) =>
    request('POST', `${tokenPath(id)}/regenerate`, { body: { grace_period_s: gracePeriodS } }),
  revoke: (id, reason) => request('POST', `${tokenPath(id)}/revoke`, { body: { reason } }),
  adjustCredits: (id, change) => request('POST', `${tokenPath(id)}/credits`, { body: change }),
  events: (id, { after, limit }) => request('GET', `${tokenPath(id)}/events`, { query: { after, limit } }),
  usage: (id, { from, to, bucket }) => request('GET', `${tokenPath(id)}/usage`, { query: { from, to, bucket } }),
};
