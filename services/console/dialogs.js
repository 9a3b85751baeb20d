// The <dialog> elements of index.html: the one-time secret, and the
// confirmations for regenerate, revoke and credits adjustment.

import { $, setMessage } from './dom.js';
import { clearErrors, showApiError } from './forms.js';

// Shows a freshly issued secret once. Resolves when the dialog is closed;
// by then the secret has been removed from the page.
export function showSecret(secret) {
  const dialog = $('#secret-dialog');
  const input = $('#secret-value');
  const status = $('#secret-copy-status');
  const copy = $('#secret-copy');
  input.value = secret;
  status.textContent = '';

  const onCopy = async () => {
    try {
      await navigator.clipboard.writeText(input.value);
      status.textContent = 'Copied to the clipboard.';
    } catch {
      input.select();
      status.textContent = 'Copying was blocked by the browser: the secret is selected, press Ctrl+C (⌘C).';
    }
  };
  copy.addEventListener('click', onCopy);

  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      copy.removeEventListener('click', onCopy);
      input.value = '';
      input.removeAttribute('value');
      status.textContent = '';
      resolve();
    }, { once: true });
    dialog.showModal();
    input.focus();
    input.select();
  });
}

// Opens a confirmation dialog whose form has a "confirm" submit button.
// `action(form)` runs on confirm; the dialog stays open with the error shown
// if it throws an ApiError (other than 401), and closes when it succeeds.
// Resolves with action's result, or null when cancelled.
export function confirmDialog(dialogId, { prepare = () => {}, action }) {
  const dialog = $(`#${dialogId}`);
  const form = dialog.querySelector('form');
  const alert = form.querySelector('.dialog-error');
  form.reset();
  clearErrors(form);
  prepare(form);

  return new Promise((resolve) => {
    let result = null;
    const onSubmit = async (event) => {
      if (event.submitter?.value !== 'confirm') return;  // cancel closes the dialog
      event.preventDefault();
      if (!form.reportValidity()) return;
      const button = event.submitter;
      button.disabled = true;
      clearErrors(form);
      try {
        result = await action(form);
        dialog.close('confirm');
      } catch (error) {
        if (error.status === 401) dialog.close('cancel');
        else showApiError(form, error, alert);
      } finally {
        button.disabled = false;
      }
    };
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', () => {
      form.removeEventListener('submit', onSubmit);
      setMessage(alert, '');
      resolve(dialog.returnValue === 'confirm' ? result : null);
    }, { once: true });
    dialog.returnValue = '';  // Escape keeps the previous value otherwise
    dialog.showModal();
  });
}
