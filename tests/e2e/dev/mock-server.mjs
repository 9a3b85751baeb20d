// A throwaway in-memory imitation of the tokenledger HTTP API, for
// developing the console without the real server. NOT shipped and NOT what
// the e2e tests run against by default (run.sh starts the real binary).
//
//   node tests/e2e/dev/mock-server.mjs [port]     admin token: $TOKENLEDGER_BOOTSTRAP_TOKEN
//
// Serves /console/* from services/console/ (re-read on every request) and the
// /v1 endpoints the console uses, with simplified rules.

import { createServer } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONSOLE_DIR = fileURLToPath(new URL('../../../services/console/', import.meta.url));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
const ADMIN_SECRET = process.env.TOKENLEDGER_BOOTSTRAP_TOKEN || 'tl_dev_admin_secret_0123456789abcdefghijklmnop';

const tokens = new Map();   // id → resource (+ secrets)
const secrets = new Map();  // secret → { id, validUntil }
const streams = new Map();  // id → events
let position = 0;

const now = () => new Date().toISOString();
const newSecret = () => `tl_${randomBytes(32).toString('base64url').replace(/[-_]/g, 'x')}`;

function append(id, type, actor, data) {
  const stream = streams.get(id) || [];
  const event = { id: randomUUID(), type, token_id: id, version: stream.length + 1, position: ++position, time: now(), actor, data, prev_hash: '', hash: '' };
  stream.push(event);
  streams.set(id, stream);
  return event;
}

function createToken(body, actor, owner) {
  const id = `tok_${randomBytes(8).toString('hex')}`;
  const secret = newSecret();
  const expiresIn = /^(\d+)([dhm])$/.exec(body.expires_in || '');
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 };
  const token = {
    id, owner: body.owner || owner, name: body.name, description: body.description || '',
    permissions: body.preset === 'read-only' ? ['*:read'] : body.preset === 'full-access' ? ['*:*'] : body.permissions,
    status: 'active', created_at: now(), updated_at: now(), last_used_at: null,
    expires_at: body.expires_at || (expiresIn ? new Date(Date.now() + expiresIn[1] * unit[expiresIn[2]]).toISOString() : null),
    credits: body.credits ? { remaining: body.credits.remaining, refill: body.credits.refill || null } : null,
    rate_limit: body.rate_limit || null, allowed_origins: body.allowed_origins || [], allowed_ips: body.allowed_ips || [],
    hint: `tl_…${secret.slice(-4)}`, meta: body.meta || {}, version: 1,
  };
  tokens.set(id, token);
  secrets.set(secret, { id, validUntil: Infinity });
  append(id, "token.created", actor, { ...structuredClone(token), prefix: 'tl', secret_digest: 'sha256…' });
  return { token: secret, ...token };
}

const ADMIN = createToken({ name: 'bootstrap admin', permissions: ['ledger:admin'] }, 'bootstrap', 'admin');
secrets.delete(ADMIN.token);
secrets.set(ADMIN_SECRET, { id: ADMIN.id, validUntil: Infinity });

function problem(res, status, detail, field) {
  res.writeHead(status, { 'Content-Type': 'application/problem+json', ...(status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}) });
  res.end(JSON.stringify({ type: 'about:blank', title: detail, status, detail, ...(field ? { field } : {}) }));
}

function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function lookup(secret) {
  const entry = secrets.get(secret);
  if (!entry || entry.validUntil < Date.now()) return null;
  return tokens.get(entry.id);
}

function validate(body) {
  if (typeof body.name !== 'string' || !body.name.trim()) return ['name', 'name is required'];
  for (const [i, ip] of (body.allowed_ips || []).entries()) {
    if (!/^[0-9a-f:.]+(\/\d+)?$/i.test(ip)) return [`allowed_ips[${i}]`, `"${ip}" is not an IP address or CIDR range`];
  }
  if (body.credits && !(Number.isInteger(body.credits.remaining) && body.credits.remaining >= 0)) return ['credits.remaining', 'must be an integer ≥ 0'];
  return null;
}


function verify(body) {
  const token = lookup(body.token);
  if (!token) return { valid: false, code: 'NOT_FOUND' };
  const cost = body.cost ?? 1;
  let code = 'VALID';
  if (token.status === 'revoked') code = 'REVOKED';
  else if (token.credits && cost > token.credits.remaining) code = 'USAGE_EXCEEDED';
  if (code !== 'VALID') {
    append(token.id, 'token.use_denied', 'verify', { code, cost, origin: null, ip: null });
  } else {
    if (token.credits) token.credits.remaining -= cost;
    token.last_used_at = now();
    append(token.id, 'token.used', 'verify', { cost, permissions: body.permissions || null, origin: null, ip: null });
  }
  return { valid: code === 'VALID', code, token_id: token.id, owner: token.owner, name: token.name, permissions: token.permissions, expires_at: token.expires_at, remaining: token.credits?.remaining ?? null, rate_limit: null, meta: token.meta };
}

function usage(id, query) {
  const size = query.get('bucket') === 'day' ? 86_400_000 : 3_600_000;
  const from = Date.parse(query.get('from')), to = Date.parse(query.get('to'));
  const total = { uses: 0, credits_spent: 0, denied: {} };
  const buckets = new Map();
  for (const event of streams.get(id) || []) {
    const t = Date.parse(event.time);
    if (t < from || t > to || !['token.used', 'token.use_denied'].includes(event.type)) continue;
    const start = new Date(Math.floor(t / size) * size).toISOString();
    const bucket = buckets.get(start) || { start, uses: 0, credits_spent: 0, denied: {} };
    if (event.type === 'token.used') {
      bucket.uses++; total.uses++;
      bucket.credits_spent += event.data.cost; total.credits_spent += event.data.cost;
    } else {
      bucket.denied[event.data.code] = (bucket.denied[event.data.code] || 0) + 1;
      total.denied[event.data.code] = (total.denied[event.data.code] || 0) + 1;
    }
    buckets.set(start, bucket);
  }
  return { total, buckets: [...buckets.values()] };
}

async function handleApi(req, res, url, body) {
  const caller = lookup((req.headers.authorization || '').replace(/^Bearer /, ''));
  if (!caller || caller.status !== 'active') return problem(res, 401, 'missing or invalid bearer token');
  const actor = caller.id;
  const parts = url.pathname.split('/').filter(Boolean);  // v1, tokens, id, action
  if (req.method === 'POST' && url.pathname === '/v1/verify') return json(res, 200, verify(body));
  if (parts[1] !== 'tokens') return problem(res, 404, 'no such route');
  if (parts.length === 2 && req.method === 'GET') {
    const status = url.searchParams.get('status');
    const limit = Number(url.searchParams.get('limit') || 50);
    const all = [...tokens.values()].filter((t) => !status || t.status === status).reverse();
    const offset = Number(url.searchParams.get('cursor') || 0);
    const page = all.slice(offset, offset + limit);
    return json(res, 200, { tokens: page, next_cursor: offset + limit < all.length ? String(offset + limit) : null });
  }
  if (parts.length === 2 && req.method === 'POST') {
    const invalid = validate(body);
    if (invalid) return problem(res, 400, invalid[1], invalid[0]);
    return json(res, 201, createToken(body, actor, caller.owner));
  }
  const token = tokens.get(parts[2]);
  if (!token) return problem(res, 404, 'no such token');
  const action = parts[3];
  if (!action && req.method === 'GET') return json(res, 200, token);
  if (action === 'events') return json(res, 200, { events: (streams.get(token.id) || []).filter((e) => e.version > Number(url.searchParams.get('after') || 0)) });
  if (action === 'usage') return json(res, 200, usage(token.id, url.searchParams));
  if (token.status === 'revoked' && action !== 'revoke') return problem(res, 409, 'the token is revoked');
  if (!action && req.method === 'PATCH') {
    if (req.headers['if-match'] !== String(token.version)) return problem(res, 412, 'the token changed meanwhile');
    const { permissions, ...rest } = body;
    if (permissions) {
      append(token.id, 'token.permissions_changed', actor, { permissions, previous: token.permissions });
      token.permissions = permissions;
      token.version = streams.get(token.id).length;
    }
    if (Object.keys(rest).length) {
      append(token.id, 'token.updated', actor, rest);
      Object.assign(token, rest);
      token.version = streams.get(token.id).length;
    }
    token.updated_at = now();
    return json(res, 200, token);
  }
  if (action === 'regenerate') {
    const grace = body.grace_period_s || 0;
    for (const entry of secrets.values()) if (entry.id === token.id && entry.validUntil === Infinity) entry.validUntil = Date.now() + grace * 1000;
    const secret = newSecret();
    secrets.set(secret, { id: token.id, validUntil: Infinity });
    token.hint = `tl_…${secret.slice(-4)}`;
    append(token.id, 'token.regenerated', actor, { hint: token.hint, previous_valid_until: new Date(Date.now() + grace * 1000).toISOString() });
    token.version = streams.get(token.id).length;
    return json(res, 200, { token: secret, ...token });
  }
  if (action === 'revoke') {
    if (token.status !== 'revoked') {
      token.status = 'revoked';
      append(token.id, 'token.revoked', actor, { reason: body.reason || '' });
      token.version = streams.get(token.id).length;
    }
    return json(res, 200, token);
  }
  if (action === 'credits') {
    if (!token.credits) return problem(res, 409, 'the token has unlimited credits');
    const balance = Math.max(0, 'set' in body ? body.set : token.credits.remaining + body.add);
    token.credits.remaining = balance;
    append(token.id, 'token.credits_adjusted', actor, { ...body, balance });
    token.version = streams.get(token.id).length;
    return json(res, 200, token);
  }
  return problem(res, 404, 'no such route');
}

async function serveConsole(res, path) {
  const rel = normalize(path || 'index.html');
  if (rel.startsWith('..') || !TYPES[extname(rel)]) return problem(res, 404, 'not found');
  try {
    const body = await readFile(join(CONSOLE_DIR, rel));
    res.writeHead(200, {
      'Content-Type': TYPES[extname(rel)],
      'Cache-Control': 'no-cache',
      // As the real server sends it: no inline script or style, nothing from elsewhere.
      'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    });
    res.end(body);
  } catch {
    problem(res, 404, 'not found');
  }
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  let body = {};
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  if (chunks.length) {
    try { body = JSON.parse(Buffer.concat(chunks)); } catch { return problem(res, 400, 'invalid JSON'); }
  }
  if (url.pathname === '/healthz') return json(res, 200, { status: 'ok' });
  if (url.pathname === '/console') { res.writeHead(301, { Location: '/console/' }); return res.end(); }
  if (url.pathname.startsWith('/console/')) return serveConsole(res, url.pathname.slice('/console/'.length));
  if (url.pathname.startsWith('/v1/')) return handleApi(req, res, url, body);
  return problem(res, 404, 'not found');
});

server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
