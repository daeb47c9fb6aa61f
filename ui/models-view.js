// Models: current deployment, versions kept for rollback, container state. Re-rendered whole (it changes
// rarely); focus on a rollback button is put back afterwards.
import { definitionList, domId, fill, h } from './dom.js';
import { formatTime, stateLabel, stateTone } from './format.js';

export function renderModels(list, models, { unlocked, runtimeKind, onRollback }) {
  const focused = document.activeElement?.dataset?.focusKey;
  fill(
    list,
    models.map((m) => modelCard(m, { unlocked, runtimeKind, onRollback })),
  );
  if (focused) list.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
}

function modelCard(m, { unlocked, runtimeKind, onRollback }) {
  const id = domId('model', m.name);
  const rt = m.runtime;
  const container = rt ? stateLabel(rt.state) : runtimeKind === 'none' ? 'not started (runtime: none)' : 'no container';
  const serving = servingLine(m.current, rt);
  return h(
    'li',
    { id, class: 'card model-card', 'data-model': m.name },
    h(
      'article',
      { 'aria-labelledby': `${id}-title` },
      h(
        'div',
        { class: 'card-head' },
        h('h3', { id: `${id}-title` }, m.name),
        h('p', { class: `badge tone-${rt ? stateTone(rt.state) : 'info'}` }, h('span', { class: 'visually-hidden' }, 'Container: '), container),
      ),
      definitionList(
        [
          ['Current', m.current ? versionLine(m.current) : 'none'],
          ['Bundle id', m.current?.bundleId],
          ['Installed', m.current ? formatTime(m.current.installedAt) : undefined],
          ['Served as', serving],
          ['Container id', rt?.containerId ? h('code', {}, rt.containerId.slice(0, 12)) : undefined],
          ['Health', rt?.health],
          ['Problem', rt?.code ? [h('code', { class: 'code' }, rt.code), rt.message ? ` ${rt.message}` : ''] : undefined],
        ],
        'facts',
      ),
      h('h4', {}, 'Kept for rollback'),
      m.kept.length
        ? h(
            'ol',
            { class: 'kept' },
            m.kept.map((k) => keptItem(m, k, unlocked, onRollback)),
          )
        : h('p', { class: 'empty-inline' }, 'No earlier version kept.'),
    ),
  );
}

function versionLine(d) {
  return `sequence ${d.sequence} · channel ${d.channel}`;
}

// The served name may come with the deployment or the container state, the port with the container state.
function servingLine(current, rt) {
  const name = rt?.servedModelName ?? current?.hints?.servedModelName;
  const port = rt?.port;
  if (!name && !port) return undefined;
  return [name ?? '', port ? ` on port ${port}` : ''].join('').trim();
}

function keptItem(m, k, unlocked, onRollback) {
  return h(
    'li',
    {},
    h('span', {}, `${versionLine(k)} · ${k.bundleId} · installed ${formatTime(k.installedAt)}`),
    h(
      'button',
      {
        type: 'button',
        class: 'action',
        'data-action': 'rollback',
        'data-focus-key': `rollback:${m.name}:${k.bundleId}`,
        hidden: !unlocked,
        onclick: () => onRollback(m, k),
      },
      `Roll back to sequence ${k.sequence}`,
    ),
  );
}
