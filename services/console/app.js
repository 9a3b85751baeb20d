// Entry point: shows one view at a time according to the URL hash, and sends
// the user to the sign-in screen when there is no session or the API answers
// 401. Each view lives in views/; the API client in api.js.

import { api, onUnauthorized } from './api.js';
import { $, $$, announce } from './dom.js';
import { clearToken, getToken } from './session.js';
import { currentRoute, navigate, tokenHash } from './router.js';
import { showSecret } from './dialogs.js';
import { initSignin, showSignin } from './views/signin.js';
import { initTokenList, showTokenList } from './views/token-list.js';
import { mountTokenForm } from './views/token-form.js';
import { initTokenDetail, showTokenDetail } from './views/token-detail.js';

const TITLES = {
  signin: 'Sign in', list: 'Tokens', create: 'Create token', edit: 'Edit token', detail: 'Token', missing: 'Not found',
};

function showView(id, title) {
  for (const view of $$('.view')) view.hidden = view.id !== id;
  $('#session-nav').hidden = id === 'view-signin';
  document.title = `${title} · tokenledger console`;
  const heading = $(`#${id} h1`);
  heading.tabIndex = -1;
  // Move focus to the new view's heading so keyboard and screen reader users
  // start there, unless a view focuses something itself.
  if (!document.activeElement || document.activeElement === document.body || !$(`#${id}`).contains(document.activeElement)) {
    heading.focus({ preventScroll: true });
  }
}

function signOut(reason) {
  clearToken();
  for (const dialog of $$('dialog[open]')) dialog.close('cancel');
  showView('view-signin', TITLES.signin);
  showSignin(reason);
}

async function route() {
  if (!getToken()) {
    signOut('');
    return;
  }
  const page = currentRoute();
  switch (page.name) {
    case 'list':
      showView('view-list', TITLES.list);
      await showTokenList();
      break;
    case 'create':
      showView('view-form', TITLES.create);
      $('#form-title').textContent = 'Create token';
      mountTokenForm($('#form-host'), { mode: 'create', onSaved: onCreated });
      break;
    case 'edit': {
      showView('view-form', TITLES.edit);
      $('#form-title').textContent = 'Edit token';
      $('#form-host').replaceChildren();
      let token;
      try {
        token = await api.getToken(page.id);
      } catch (error) {
        if (error.status !== 401) navigate(tokenHash(page.id));
        return;
      }
      $('#form-title').textContent = `Edit ${token.name}`;
      mountTokenForm($('#form-host'), {
        mode: 'edit',
        token,
        onSaved: (saved) => {
          announce('Changes saved.');
          navigate(tokenHash(saved.id));
        },
      });
      break;
    }
    case 'detail':
      showView('view-detail', TITLES.detail);
      await showTokenDetail(page.id);
      break;
    default:
      showView('view-missing', TITLES.missing);
  }
}

async function onCreated(created) {
  const { token: secret, ...resource } = created;
  await showSecret(secret);
  announce(`Token “${resource.name}” created.`);
  navigate(tokenHash(resource.id));
}

function start() {
  onUnauthorized(() => signOut('Your session has ended: the server no longer accepts this management token (401). Sign in again.'));
  initSignin({ onSignedIn: () => (currentRoute().name === 'missing' ? navigate('#/tokens') : route()) });
  initTokenList();
  initTokenDetail();
  $('#sign-out').addEventListener('click', () => signOut('You have signed out.'));
  window.addEventListener('hashchange', route);
  route();
}

start();
