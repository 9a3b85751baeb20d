// Hash routes, so the server only has to serve /console/ and its files:
//   #/tokens            list          #/tokens/new        create
//   #/tokens/<id>       detail        #/tokens/<id>/edit  edit

export function currentRoute() {
  const parts = window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'tokens')) return { name: 'list' };
  if (parts[0] !== 'tokens') return { name: 'missing' };
  if (parts.length === 2 && parts[1] === 'new') return { name: 'create' };
  if (parts.length === 2) return { name: 'detail', id: parts[1] };
  if (parts.length === 3 && parts[2] === 'edit') return { name: 'edit', id: parts[1] };
  return { name: 'missing' };
}

export function navigate(hash) {
  if (window.location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = hash;
}

export const tokenHash = (id) => `#/tokens/${encodeURIComponent(id)}`;
