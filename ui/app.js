// The status page: loads the daemon's state over the API, then follows /v1/events to stay live.
import { followEvents, getJson } from './api.js';
import { prependAudit, renderAudit } from './audit-view.js';
import { BundleCard } from './bundle-card.js';
import { fill, h } from './dom.js';
import { formatDuration, formatTime, needsAttention, stateLabel, summaryParts, summaryText } from './format.js';
import { renderModels } from './models-view.js';
import { createOperator } from './operator.js';

const $ = (id) => document.getElementById(id);

const page = {
  status: undefined,
  models: [],
  cards: new Map(),
  lost: false,
  everConnected: false,
};

// ---- rendering -------------------------------------------------------------------------------

function unlocked() {
  return operator.unlocked;
}

function upsertBundle(rec, announceChange) {
  const card = page.cards.get(rec.id);
  if (!card) {
    const fresh = new BundleCard(rec, { onRetry: (r) => operator.retry(r), unlocked: unlocked(), models: page.models });
    page.cards.set(rec.id, fresh);
    $('bundles').prepend(fresh.element);
    // The event stream replays every known bundle on connect: announce only ones still in progress.
    if (announceChange && fresh.active) announce(`New bundle: ${fresh.title.textContent}, ${stateLabel(rec.state)}.`);
  } else {
    const before = card.record.state;
    card.update(rec, unlocked(), page.models);
    if (announceChange && before !== rec.state) announce(stateMessage(card.title.textContent, rec));
  }
  $('bundles-empty').hidden = page.cards.size > 0;
  drawQueue();
  drawAttention();
}

function stateMessage(name, rec) {
  const code = rec.error ? ` (${rec.error.code})` : '';
  return `${name}${rec.sequence !== undefined ? ` sequence ${rec.sequence}` : ''}: ${stateLabel(rec.state)}${code}.`;
}

function replaceBundles(records) {
  const seen = new Set(records.map((r) => r.id));
  for (const [id, card] of page.cards) {
    if (!seen.has(id)) {
      card.element.remove();
      page.cards.delete(id);
    }
  }
  // Newest first: oldest prepended first.
  const sorted = [...records].sort((a, b) => a.detectedAt.localeCompare(b.detectedAt));
  for (const r of sorted) upsertBundle(r, false);
  // Reorder only when needed: moving a card drops the keyboard focus inside it.
  const list = $('bundles');
  const wanted = sorted.map((r) => page.cards.get(r.id).element).reverse();
  if (wanted.some((el, i) => list.children[i] !== el)) list.replaceChildren(...wanted);
  $('bundles-empty').hidden = page.cards.size > 0;
}

function removeBundle(recordId) {
  const card = page.cards.get(recordId);
  if (!card) return;
  card.element.remove();
  page.cards.delete(recordId);
  $('bundles-empty').hidden = page.cards.size > 0;
  drawQueue();
  drawAttention();
}

function drawModels() {
  renderModels($('models'), page.models, {
    unlocked: unlocked(),
    runtimeKind: page.status?.config?.runtime,
    onRollback: (m, k) => operator.rollback(m, k),
  });
  $('models-empty').hidden = page.models.length > 0;
  // What serves changed: installed bundles another one replaced say so.
  for (const card of page.cards.values()) card.update(card.record, unlocked(), page.models);
}

// The daemon's counts by state (every record it holds, not only the newest page), trouble first.
function drawSummary() {
  const counts = page.status?.bundles;
  if (!counts) return;
  const parts = summaryParts(counts);
  const el = $('summary');
  el.setAttribute('aria-label', `Bundles: ${summaryText(counts)}`);
  if (parts.length === 0) return fill(el, 'No bundles yet.');
  fill(
    el,
    parts.map((p, i) => [i ? ' ' : '', h('span', { class: `count tone-${p.tone}`, 'data-state': p.state }, `${p.count} ${stateLabel(p.state)}`)]),
  );
}

/** Rejected and failed bundles, newest first, at the top of the page: the few an operator must look at. */
const ATTENTION_SHOWN = 5;
function drawAttention() {
  const cards = [...page.cards.values()]
    .filter((c) => needsAttention(c.record.state))
    .sort((a, b) => b.record.updatedAt.localeCompare(a.record.updatedAt));
  const key = cards.map((c) => `${c.id}:${c.record.state}:${c.record.updatedAt}`).join('|');
  if (page.attentionKey === key) return;
  page.attentionKey = key;
  $('attention').hidden = cards.length === 0;
  const items = cards.slice(0, ATTENTION_SHOWN).map((c) => {
    const r = c.record;
    return h(
      'li',
      { 'data-bundle-id': r.id },
      h('a', { href: `#${c.element.id}` }, c.title.textContent),
      ' ',
      h('span', { class: `badge tone-bad` }, stateLabel(r.state)),
      r.error ? [' ', h('code', { class: 'code' }, r.error.code)] : '',
      ' ',
      h('time', { datetime: r.updatedAt }, formatTime(r.updatedAt)),
    );
  });
  if (cards.length > ATTENTION_SHOWN) items.push(h('li', { class: 'more-below' }, `and ${cards.length - ATTENTION_SHOWN} more below`));
  fill($('attention-list'), items);
}

function drawStatus() {
  const s = page.status;
  if (!s) return;
  const up = s.uptimeSeconds + (Date.now() - page.statusAt) / 1000;
  $('daemon-info').textContent = [
    `Daemon ${s.version}`,
    `up ${formatDuration(up)}`,
    `store ${s.config.store}`,
    `runtime ${s.config.runtime}`,
    `config ${s.config.source}`,
  ].join(' · ');
  $('demo-trust').hidden = !s.config.demoTrust;
  const watched = s.watched.map((w) => `${w.path} (${w.kind}${w.watching ? '' : ', not present'})`);
  $('watched').textContent = `Watched folders: ${watched.length ? watched.join(', ') : 'none'}.`;
  drawQueue();
  drawSummary();
}

// From the bundles' own states, which every event keeps current (the status document lags by a request).
function drawQueue() {
  const named = (state) =>
    [...page.cards.values()]
      .filter((c) => c.record.state === state)
      .sort((a, b) => a.record.detectedAt.localeCompare(b.record.detectedAt))
      .map((c) => c.title.textContent);
  const verifying = named('verifying');
  const queued = named('queued');
  const q = [];
  if (verifying.length) q.push(`Verifying now: ${verifying.join(', ')}.`);
  if (queued.length) q.push(`Waiting: ${queued.join(', ')}.`);
  $('queue').textContent = q.join(' ');
}

function drawUnlocked() {
  $('token-form').hidden = unlocked();
  $('token-set').hidden = !unlocked();
  drawModels();
}

// ---- live announcements and connection ------------------------------------------------------

function announce(text) {
  const box = $('announcer');
  box.append(h('p', {}, text));
  while (box.children.length > 5) box.firstElementChild.remove();
}

function setConnection(state, text) {
  const el = $('connection');
  el.dataset.state = state;
  el.textContent = text;
}

function connectionLost() {
  if (page.lost) return;
  page.lost = true;
  setConnection('lost', 'Disconnected');
  $('connection-banner').hidden = false;
}

function connectionBack() {
  setConnection('live', 'Live');
  const wasLost = page.lost;
  page.lost = false;
  $('connection-banner').hidden = true;
  // Events sent while away are gone: read the whole state again.
  if (wasLost || !page.everConnected) void loadAll();
  if (wasLost) announce('Connection to the daemon restored.');
  page.everConnected = true;
}

// ---- loading ---------------------------------------------------------------------------------

async function loadStatus() {
  page.status = await getJson('/v1/status');
  page.statusAt = Date.now();
  drawStatus();
}

async function loadModels() {
  page.models = (await getJson('/v1/deployments')).models;
  drawModels();
}

async function loadAll() {
  const results = await Promise.allSettled([
    loadStatus(),
    getJson('/v1/bundles').then((b) => replaceBundles(b.bundles)),
    loadModels(),
    getJson('/v1/audit?limit=100').then((a) => {
      renderAudit($('audit'), a.events);
      $('audit-empty').hidden = a.events.length > 0;
    }),
  ]);
  if (results.every((r) => r.status === 'rejected')) connectionLost();
  drawStatus();
}

// Several events arrive together (a state change brings a bundle event and an audit event): one reload.
const pending = new Map();
function soon(key, fn, ms = 300) {
  if (pending.has(key)) return;
  pending.set(
    key,
    setTimeout(() => {
      pending.delete(key);
      fn().catch(() => undefined);
    }, ms),
  );
}

const DEPLOYMENT_EVENTS = new Set(['installed', 'deployed', 'deploy-failed', 'rolled-back']);

function onEvent(name, data) {
  if (name === 'bundle') {
    const rec = data.bundle ?? data;
    if (!rec?.id) return;
    const before = page.cards.get(rec.id)?.record.state;
    upsertBundle(rec, true);
    if (before !== rec.state) {
      soon('status', loadStatus);
      if (['installed', 'ready', 'failed', 'deploying'].includes(rec.state)) soon('models', loadModels);
    }
  } else if (name === 'audit') {
    prependAudit($('audit'), data);
    $('audit-empty').hidden = true;
    if (data.event === 'gone' && data.recordId) removeBundle(data.recordId);
    if (DEPLOYMENT_EVENTS.has(data.event)) soon('models', loadModels);
  } else if (name === 'deployment') {
    soon('models', loadModels);
  } else if (name === 'status') {
    soon('status', loadStatus);
  }
}

// ---- start -----------------------------------------------------------------------------------

const operator = createOperator({
  announce,
  onTokenChange: drawUnlocked,
  afterRollback: loadModels,
});
drawUnlocked();
void loadAll();
setInterval(drawStatus, 30_000);
followEvents({ onOpen: connectionBack, onLost: connectionLost, onEvent });
