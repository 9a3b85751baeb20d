// Tiny DOM helpers. h() builds elements; text is always set as text, never
// parsed as HTML, so values from the API cannot inject markup.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

// Same as h() for SVG elements.
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return [...root.querySelectorAll(selector)];
}

// Shows a message in an alert element, or hides it when message is empty.
export function setMessage(element, message) {
  element.textContent = message || '';
  element.hidden = !message;
}

// A short polite status message at the top of the page ("Token created.").
export function announce(message) {
  const banner = document.getElementById('global-status');
  setMessage(banner, message);
  clearTimeout(announce.timer);
  if (message) announce.timer = setTimeout(() => setMessage(banner, ''), 6000);
}
