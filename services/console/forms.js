// Form helpers shared by the token form and the dialogs: showing API field
// errors next to the field they name, and conditional parts of a form.

import { h, $$, setMessage } from './dom.js';

// API field names may be "credits.remaining", "credits/remaining",
// "/credits/remaining" or "permissions[2]". All become "credits.remaining",
// "permissions.2".
export function normaliseField(field) {
  return String(field)
    .replace(/^[/#]+/, '')
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/\//g, '.');
}

// The element declaring `data-field` for `field` or, failing that, for the
// closest parent path ("credits.refill.amount" → "credits.refill" → "credits"),
// with the part of the path it did not match ("allowed_ips.2" → ["2"]).
function fieldContainer(form, field) {
  const containers = $$('[data-field]', form).filter((el) => !el.closest('[hidden]'));
  const parts = normaliseField(field).split('.');
  for (let length = parts.length; length > 0; length--) {
    const path = parts.slice(0, length).join('.');
    const found = containers.find((el) => el.dataset.field.split(' ').includes(path));
    if (found) return { container: found, rest: parts.slice(length) };
  }
  return { container: null, rest: [] };
}

let nextErrorId = 1;

export function showFieldError(form, field, message) {
  const { container, rest } = field ? fieldContainer(form, field) : { container: null, rest: [] };
  if (!container) return false;
  // A list given one entry per line or row: say which entry is wrong.
  if (/^\d+$/.test(rest[0] || '')) message = `Entry ${Number(rest[0]) + 1}: ${message}`;
  let slot = container.querySelector(':scope > .field-error');
  if (!slot) {
    slot = h('p', { class: 'field-error', id: `field-error-${nextErrorId++}`, 'data-testid': 'field-error' });
    container.append(slot);
  }
  slot.textContent = message;
  slot.dataset.field = normaliseField(field);
  const input = container.querySelector('input:not([type=hidden]), select, textarea');
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    const describedBy = new Set((input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
    describedBy.add(slot.id);
    input.setAttribute('aria-describedby', [...describedBy].join(' '));
    input.focus();
  }
  return true;
}

export function clearErrors(form) {
  for (const slot of $$('.field-error', form)) {
    for (const input of $$(`[aria-describedby~="${slot.id}"]`, form)) {
      input.removeAttribute('aria-invalid');
      const rest = input.getAttribute('aria-describedby').split(' ').filter((id) => id !== slot.id);
      if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
      else input.removeAttribute('aria-describedby');
    }
    slot.remove();
  }
  for (const alert of $$('.form-error, .dialog-error', form)) setMessage(alert, '');
}

// Shows an ApiError: beside its field when the API named one we have, else
// in the form's alert element.
export function showApiError(form, error, alertElement) {
  const message = error.detail || error.message;
  if (error.field && showFieldError(form, error.field, message)) return;
  setMessage(alertElement, error.field ? `${error.field}: ${message}` : message);
  alertElement.focus?.();
}

// Elements with data-show-when="name" are shown while the control `name` is
// checked or non-empty; data-show-when="name=value" while it has that value.
export function bindConditionalParts(form) {
  const update = () => {
    for (const part of $$('[data-show-when]', form)) {
      const [name, wanted] = part.dataset.showWhen.split('=');
      const controls = $$(`[name="${name}"]`, form);
      let value = '';
      for (const control of controls) {
        if (control.type === 'radio' || control.type === 'checkbox') {
          if (control.checked) value = control.type === 'checkbox' ? 'on' : control.value;
        } else {
          value = control.value;
        }
      }
      part.hidden = wanted === undefined ? !value : value !== wanted;
    }
  };
  form.addEventListener('input', update);
  form.addEventListener('change', update);
  update();
  return update;
}

export function linesOf(text) {
  return text.split(/[\n,]/).map((line) => line.trim()).filter(Boolean);
}

export function integerOrNull(input) {
  return input.value.trim() === '' ? null : Number(input.value);
}
