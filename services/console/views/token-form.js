// The form to create a token, also used to edit one. It turns the form into
// the API's create body (POST /v1/tokens) or a PATCH holding only the fields
// that changed, and shows API field errors next to their field.

import { api } from '../api.js';
import { $, h, setMessage } from '../dom.js';
import { bindConditionalParts, clearErrors, integerOrNull, linesOf, showApiError, showFieldError } from '../forms.js';
import { createPermissionEditor } from './permission-editor.js';

const PRESETS = { 'read-only': ['*:read'], 'full-access': ['*:*'] };
const DAY_MS = 86_400_000;

// Renders the form into `host`. mode is 'create' or 'edit' (then `token` is
// the resource being edited). onSaved(resource) runs after a successful save.
export function mountTokenForm(host, { mode, token = null, onSaved }) {
  const form = $('#token-form-template').content.firstElementChild.cloneNode(true);
  host.replaceChildren(form);
  const field = (name) => form.elements.namedItem(name);
  const editor = createPermissionEditor(form.querySelector('.permission-editor'));

  for (const element of form.querySelectorAll(mode === 'create' ? '.edit-only' : '.create-only')) element.remove();
  if (mode === 'edit') fillFromToken(form, field, editor, token);
  else {
    field('type').value = 'read-only';
    editor.setPermissions([]);
  }
  form.querySelector('[type=submit]').textContent = mode === 'create' ? 'Create token' : 'Save changes';
  const cancel = form.querySelector('[data-testid=tf-cancel]');
  if (token) cancel.href = `#/tokens/${encodeURIComponent(token.id)}`;
  bindConditionalParts(form);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const alert = form.querySelector('.form-error');
    let values;
    try {
      values = readForm(field, editor);
    } catch (invalid) {
      if (!showFieldError(form, invalid.field, invalid.message)) setMessage(alert, invalid.message);
      return;
    }
    const submit = form.querySelector('[type=submit]');
    submit.disabled = true;
    try {
      const saved = mode === 'create'
        ? await api.createToken(createBody(values))
        : await saveEdit(token, values);
      onSaved(saved);
    } catch (error) {
      if (error.status !== 401) showApiError(form, error, alert);
    } finally {
      submit.disabled = false;
    }
  });
  field('name').focus();
}

class InvalidInput extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// The form's values in API terms, checked only as far as the browser can
// know; the API checks the rest and its errors are shown beside the fields.
function readForm(field, editor) {
  const name = field('name').value.trim();
  if (!name) throw new InvalidInput('name', 'A name is required.');

  const values = {
    name,
    description: field('description').value.trim(),
    owner: field('owner')?.value.trim() || '',
    duration: field('duration').value,
    expiresAt: null,
    type: field('type').value,
    permissions: null,
    credits: undefined,   // undefined: not on the form (edit of an unlimited token)
    rateLimit: null,
    allowedOrigins: linesOf(field('allowed_origins').value),
    allowedIps: linesOf(field('allowed_ips').value),
  };

  if (values.duration === 'custom') {
    const date = field('expires_at').value;
    if (!date) throw new InvalidInput('expires_at', 'Choose the expiry date.');
    values.expiresAt = new Date(`${date}T23:59:59`).toISOString();  // end of that day, local time
  }

  values.permissions = PRESETS[values.type] || editor.getPermissions();
  if (values.type === 'custom' && values.permissions.length === 0) {
    throw new InvalidInput('permissions', 'Add at least one permission, or choose another type.');
  }
  const badPermission = values.permissions.find((p) => !/^[^:\s]+:[^:\s]+$/.test(p));
  if (badPermission) throw new InvalidInput('permissions', `"${badPermission}" needs a resource and an action.`);

  const limited = field('credits_limited');
  if (limited && limited.checked) {
    const interval = field('refill_interval').value;
    values.credits = {
      remaining: field('credits_remaining') ? integerOrNull(field('credits_remaining')) : null,
      refill: interval ? { amount: integerOrNull(field('refill_amount')), interval } : null,
    };
    if (values.credits.remaining === null) {
      // On create the API starts a refilled balance at refill.amount.
      delete values.credits.remaining;
      if (field('credits_remaining') && !values.credits.refill) {
        throw new InvalidInput('credits.remaining', 'How many credits does the token start with?');
      }
    }
    if (values.credits.refill && values.credits.refill.amount === null) {
      throw new InvalidInput('credits.refill.amount', 'How many credits does each refill give?');
    }
  } else if (limited) {
    values.credits = null;
  }

  if (field('rate_limited').checked) {
    const limit = integerOrNull(field('rate_limit'));
    const windowS = integerOrNull(field('rate_window_s'));
    if (limit === null) throw new InvalidInput('rate_limit.limit', 'How many requests per window?');
    if (windowS === null) throw new InvalidInput('rate_limit.window_ms', 'How long is the window?');
    values.rateLimit = { limit, window_ms: windowS * 1000 };
  }
  return values;
}

function createBody(values) {
  const body = { name: values.name };
  if (values.description) body.description = values.description;
  if (values.owner) body.owner = values.owner;
  if (values.duration === 'custom') body.expires_at = values.expiresAt;
  else if (values.duration !== 'unlimited') body.expires_in = values.duration;
  if (values.type === 'custom') body.permissions = values.permissions;
  else body.preset = values.type;
  if (values.credits) body.credits = values.credits;
  if (values.rateLimit) body.rate_limit = values.rateLimit;
  if (values.allowedOrigins.length) body.allowed_origins = values.allowedOrigins;
  if (values.allowedIps.length) body.allowed_ips = values.allowedIps;
  return body;
}

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

// PATCH with only what changed; the API appends token.permissions_changed for
// permissions and token.updated for the rest. If-Match guards the version.
async function saveEdit(token, values) {
  const patch = {};
  if (values.name !== token.name) patch.name = values.name;
  if (values.description !== (token.description || '')) patch.description = values.description;
  if (!same(values.permissions, token.permissions)) patch.permissions = values.permissions;
  if (values.duration !== 'keep') {
    const days = { '7d': 7, '30d': 30, '90d': 90 }[values.duration];
    patch.expires_at = days ? new Date(Date.now() + days * DAY_MS).toISOString()
      : values.duration === 'custom' ? values.expiresAt : null;
  }
  if (values.credits !== undefined && token.credits && !same(values.credits?.refill, token.credits.refill)) {
    patch.refill = values.credits?.refill ?? null;
  }
  if (!same(values.rateLimit, token.rate_limit)) patch.rate_limit = values.rateLimit;
  if (!same(values.allowedOrigins, token.allowed_origins || [])) patch.allowed_origins = values.allowedOrigins;
  if (!same(values.allowedIps, token.allowed_ips || [])) patch.allowed_ips = values.allowedIps;
  if (Object.keys(patch).length === 0) return token;
  return api.updateToken(token.id, token.version, patch);
}

function fillFromToken(form, field, editor, token) {
  field('name').value = token.name;
  field('description').value = token.description || '';
  field('duration').value = 'keep';

  const permissions = token.permissions || [];
  const preset = Object.entries(PRESETS).find(([, list]) => same(list, permissions));
  field('type').value = preset ? preset[0] : 'custom';
  editor.setPermissions(preset ? [] : permissions);

  const creditsSet = form.querySelector('[data-field=credits]');
  if (!token.credits) {
    creditsSet.remove();
  } else {
    field('credits_limited').checked = true;
    field('credits_limited').closest('.field').hidden = true;
    creditsSet.append(h('p', { class: 'hint' }, 'The balance is changed with “Adjust credits” on the token page.'));
    field('refill_interval').value = token.credits.refill?.interval || '';
    field('refill_amount').value = token.credits.refill?.amount ?? '';
  }
  if (token.rate_limit) {
    field('rate_limited').checked = true;
    field('rate_limit').value = token.rate_limit.limit;
    field('rate_window_s').value = token.rate_limit.window_ms / 1000;
  }
  field('allowed_origins').value = (token.allowed_origins || []).join('\n');
  field('allowed_ips').value = (token.allowed_ips || []).join('\n');
}
