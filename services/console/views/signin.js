// The sign-in screen: checks a pasted management token against the API and
// keeps it for this tab.

import { api } from '../api.js';
import { $, setMessage } from '../dom.js';
import { setToken } from '../session.js';

export function initSignin({ onSignedIn }) {
  const form = $('#signin-form');
  const input = $('#signin-token');
  const message = $('#signin-message');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) {
      setMessage(message, 'Paste a management token to sign in.');
      input.focus();
      return;
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await api.checkToken(token);
      setToken(token);
      input.value = '';
      setMessage(message, '');
      onSignedIn();
    } catch (error) {
      setMessage(message, error.status === 401
        ? 'That token was not accepted: it is unknown, expired or revoked.'
        : error.status === 403
          ? 'That token may not read tokens: it needs the ledger:read permission.'
          : error.message);
      input.focus();
      input.select();
    } finally {
      button.disabled = false;
    }
  });
}

// Shows the sign-in screen, with `reason` (e.g. why the session ended).
export function showSignin(reason = '') {
  setMessage($('#signin-message'), reason);
  $('#signin-token').focus();
}
