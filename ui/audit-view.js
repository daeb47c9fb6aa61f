// Recent audit events, newest first.
import { h } from './dom.js';
import { formatTime, stateTone } from './format.js';

export const AUDIT_SHOWN = 100;

export function auditItem(e) {
  const subject = [e.name ?? e.location ?? '', e.sequence !== undefined ? `sequence ${e.sequence}` : ''].filter(Boolean).join(' · ');
  const signers = e.signers?.length
    ? `signed by ${e.signers.map((s) => `${s.principals.join(', ') || 'unknown'} (${s.fingerprint ?? '?'})`).join('; ')}`
    : '';
  return h(
    'li',
    { class: 'audit-item', 'data-event': e.event },
    h('time', { datetime: e.at }, formatTime(e.at)),
    h('span', { class: `badge tone-${stateTone(e.event)}` }, e.event),
    h('span', { class: 'audit-subject' }, subject),
    e.code ? h('code', { class: 'code' }, e.code) : '',
    e.message || signers ? h('span', { class: 'audit-message' }, [e.message, signers].filter(Boolean).join(' · ')) : '',
    e.actor ? h('span', { class: 'audit-actor' }, `by ${e.actor}`) : '',
  );
}

/** Prepend one live event, keeping the list bounded. */
export function prependAudit(list, e) {
  list.prepend(auditItem(e));
  while (list.children.length > AUDIT_SHOWN) list.lastElementChild.remove();
}

export function renderAudit(list, events) {
  list.replaceChildren(...events.slice(0, AUDIT_SHOWN).map(auditItem));
}
