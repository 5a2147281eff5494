// Small DOM helpers shared by the dashboard's views.

/** @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * An element with attributes and children (strings become text: nothing is parsed as HTML).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node | string | null | undefined)} children
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/** The server's refusal as a person reads it: `422 VALIDATION_ERROR: digits: String should match…`. */
export function errorText(error) {
  if (error && typeof error === 'object' && 'status' in error) {
    const status = error.status ? `${error.status} ` : '';
    const code = error.code && error.code !== 'ERROR' ? `${error.code}: ` : ''; // ERROR: the SDK's, no server code
    const field = error.details?.field ? `${error.details.field}: ` : '';
    return `${status}${code}${field}${error.message}`;
  }
  return String(error?.message ?? error);
}

/** @param {string | null | undefined} iso */
export function clock(iso) {
  if (!iso) return '';
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '' : at.toLocaleTimeString([], { hour12: false });
}

/** @param {string | null | undefined} iso */
export function dateTime(iso) {
  if (!iso) return '';
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '' : `${at.toLocaleDateString()} ${at.toLocaleTimeString([], { hour12: false })}`;
}

/** @param {number | null | undefined} seconds */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A URL the browser opens by itself (an <audio> src): the key rides as ?token=. */
export function withToken(url, key) {
  const full = new URL(url, location.origin);
  full.searchParams.set('token', key);
  return full.toString();
}

/** Rows a table body shows; Enter on a focused row opens it, as a click does. */
export function clickableRow(cells, open) {
  const row = el('tr', { tabindex: 0, onclick: open, onkeydown: (e) => { if (e.key === 'Enter') open(); } });
  for (const cell of cells) row.append(cell instanceof Node ? el('td', {}, cell) : el('td', {}, String(cell ?? '')));
  return row;
}
