// The management token of this browser tab. Kept in sessionStorage only, so it
// is gone when the tab closes and never shared with other tabs.

const KEY = 'tokenledger.console.token';

export function getToken() {
  return sessionStorage.getItem(KEY);
}

export function setToken(token) {
  sessionStorage.setItem(KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
}
