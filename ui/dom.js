// A tiny element builder: text is always set as text (never parsed as HTML), so nothing the daemon
// reports (file names, messages) can inject markup.

/** h('p', { class: 'x', hidden: true }, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Set text only when it changed, so screen readers and selection are left alone otherwise. */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** A <dl> from [term, description] pairs; pairs with an empty description are left out. */
export function definitionList(pairs, cls) {
  return h(
    'dl',
    { class: cls },
    pairs.filter(([, d]) => d !== undefined && d !== null && d !== '').map(([t, d]) => [h('dt', {}, t), h('dd', {}, d)]),
  );
}

/** An id fragment safe for the DOM from a record id (already [A-Za-z0-9._-]). */
export function domId(...parts) {
  return parts.map((p) => String(p).replace(/[^A-Za-z0-9_-]/g, '_')).join('-');
}
