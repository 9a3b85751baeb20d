// Editor for a list of `resource:action` permissions: one row per entry with
// a resource and an action field, add and remove buttons. `*` matches any run
// of characters within the resource or the action (see the API description).

import { h, $$ } from '../dom.js';

export function createPermissionEditor(container) {
  const list = h('ol', { class: 'permission-rows', 'data-testid': 'permission-rows' });
  const addButton = h('button', { type: 'button', 'data-testid': 'permission-add' }, 'Add permission');
  container.replaceChildren(
    h('p', { class: 'hint', id: 'permission-help' },
      'Each permission is a resource and an action, e.g. reports/q3 and read. ',
      '* matches anything within one part: reports/* covers every report.'),
    list,
    addButton,
  );

  function renumber() {
    $$('li', list).forEach((row, index) => {
      const n = index + 1;
      row.querySelector('.perm-resource-label').textContent = `Resource ${n}`;
      row.querySelector('.perm-action-label').textContent = `Action ${n}`;
      row.querySelector('.perm-remove').setAttribute('aria-label', `Remove permission ${n}`);
    });
  }

  function addRow(resource = '', action = '') {
    const id = `perm-${Math.random().toString(36).slice(2, 9)}`;
    const resourceInput = h('input', {
      id: `${id}-resource`, class: 'perm-resource', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'datasets/sales', 'aria-describedby': 'permission-help', 'data-testid': 'permission-resource',
    });
    const actionInput = h('input', {
      id: `${id}-action`, class: 'perm-action', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'read', 'data-testid': 'permission-action',
    });
    resourceInput.value = resource;
    actionInput.value = action;
    const remove = h('button', { type: 'button', class: 'perm-remove', 'data-testid': 'permission-remove' }, 'Remove');
    const row = h('li', { class: 'permission-row' },
      h('div', { class: 'field' }, h('label', { for: resourceInput.id, class: 'perm-resource-label' }), resourceInput),
      h('span', { class: 'perm-colon', 'aria-hidden': 'true' }, ':'),
      h('div', { class: 'field' }, h('label', { for: actionInput.id, class: 'perm-action-label' }), actionInput),
      remove);
    remove.addEventListener('click', () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber();
      (next ? next.querySelector('.perm-resource') : addButton).focus();
    });
    list.append(row);
    renumber();
    return resourceInput;
  }

  addButton.addEventListener('click', () => addRow().focus());

  return {
    // Entries with both parts filled in, as "resource:action".
    getPermissions() {
      return $$('li', list)
        .map((row) => [row.querySelector('.perm-resource').value.trim(), row.querySelector('.perm-action').value.trim()])
        .filter(([resource, action]) => resource || action)
        .map(([resource, action]) => `${resource}:${action}`);
    },
    setPermissions(permissions) {
      list.replaceChildren();
      for (const permission of permissions) {
        const colon = permission.lastIndexOf(':');
        if (colon < 0) addRow(permission, '');
        else addRow(permission.slice(0, colon), permission.slice(colon + 1));
      }
      if (permissions.length === 0) addRow();
    },
  };
}
