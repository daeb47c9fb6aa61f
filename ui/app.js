// The status page: loads the daemon's state over the API, then follows /v1/events to stay live.
import { ApiError, followEvents, getJson, loadToken, postJson, retryPath, rollbackPath, saveToken } from './api.js';
import { prependAudit, renderAudit } from './audit-view.js';
import { BundleCard } from './bundle-card.js';
import { h } from './dom.js';
import { formatDuration, stateLabel } from './format.js';
import { renderModels } from './models-view.js';

const $ = (id) => document.getElementById(id);

const page = {
  status: undefined,
  models: [],
  cards: new Map(),
  token: loadToken(),
  lost: false,
  everConnected: false,
};

// ---- rendering -------------------------------------------------------------------------------

function unlocked() {
  return page.token !== '';
}

function upsertBundle(rec, announceChange) {
  const card = page.cards.get(rec.id);
  if (!card) {
    const fresh = new BundleCard(rec, { onRetry: retry });
    fresh.update(rec, unlocked());
    page.cards.set(rec.id, fresh);
    $('bundles').prepend(fresh.element);
    if (announceChange) announce(`New bundle: ${fresh.title.textContent}, ${stateLabel(rec.state)}.`);
  } else {
    const before = card.record.state;
    card.update(rec, unlocked());
    if (announceChange && before !== rec.state) announce(stateMessage(card.title.textContent, rec));
  }
  $('bundles-empty').hidden = page.cards.size > 0;
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
  for (const r of sorted) $('bundles').prepend(page.cards.get(r.id).element);
  $('bundles-empty').hidden = page.cards.size > 0;
}

function removeBundle(recordId) {
  const card = page.cards.get(recordId);
  if (!card) return;
  card.element.remove();
  page.cards.delete(recordId);
  $('bundles-empty').hidden = page.cards.size > 0;
}

function drawModels() {
  renderModels($('models'), page.models, { unlocked: unlocked(), runtimeKind: page.status?.config?.runtime, onRollback: rollback });
  $('models-empty').hidden = page.models.length > 0;
}

function drawStatus() {
  const s = page.status;
  if (!s) return;
  const up = s.uptimeSeconds + (Date.now() - page.statusAt) / 1000;
  $('daemon-info').textContent = [`Daemon ${s.version}`, `up ${formatDuration(up)}`, `store ${s.config.store}`, `runtime ${s.config.runtime}`, `config ${s.config.source}`].join(' · ');
  $('demo-trust').hidden = !s.config.demoTrust;
  const watched = s.watched.map((w) => `${w.path} (${w.kind}${w.watching ? '' : ', not present'})`);
  $('watched').textContent = `Watched folders: ${watched.length ? watched.join(', ') : 'none'}.`;
  const name = (id) => page.cards.get(id)?.title.textContent ?? id;
  const q = [];
  if (s.queue.verifying) q.push(`Verifying now: ${name(s.queue.verifying)}.`);
  if (s.queue.queued.length) q.push(`Waiting: ${s.queue.queued.map(name).join(', ')}.`);
  $('queue').textContent = q.join(' ');
  $('queue').hidden = q.length === 0;
}

function drawUnlocked() {
  $('token-form').hidden = unlocked();
  $('token-set').hidden = !unlocked();
  for (const card of page.cards.values()) card.update(card.record, unlocked());
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

// ---- operator actions ------------------------------------------------------------------------

function confirmAction(title, text, okLabel) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

function actionResult(text) {
  $('action-result').textContent = text;
  announce(text);
}

async function act(describe, call) {
  try {
    await call();
    actionResult(`${describe}: done.`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      setToken('');
      $('operator').open = true;
      actionResult(`${describe}: the daemon refused the token (${err.code}). Paste it again.`);
      return;
    }
    const code = err instanceof ApiError ? err.code : 'DAEMON_UNREACHABLE';
    actionResult(`${describe}: failed (${code}) ${err.message ?? ''}`.trim());
  }
}

async function retry(rec) {
  const name = rec.name ?? rec.location;
  const ok = await confirmAction('Retry this bundle?', `${name} will be verified again from the start, and installed if it now passes.`, 'Retry');
  if (!ok) return;
  await act(`Retry ${name}`, () => postJson(retryPath(rec.id), page.token));
}

async function rollback(model, kept) {
  const current = model.current ? ` Sequence ${model.current.sequence} stays in the store.` : '';
  const ok = await confirmAction(`Roll back ${model.name}?`, `Make sequence ${kept.sequence} (bundle ${kept.bundleId}) the current deployment.${current}`, 'Roll back');
  if (!ok) return;
  await act(`Roll back ${model.name} to sequence ${kept.sequence}`, async () => {
    await postJson(rollbackPath(model.name), page.token, { to: kept.bundleId });
    await loadModels();
  });
}

function setToken(token) {
  page.token = token;
  saveToken(token);
  drawUnlocked();
}

function wireOperator() {
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('token-input');
    const token = input.value.trim();
    input.value = '';
    if (!token) return;
    setToken(token);
    actionResult('Actions unlocked.');
  });
  $('token-forget').addEventListener('click', () => {
    setToken('');
    actionResult('Token forgotten; actions locked.');
    $('token-input').focus();
  });
}

// ---- start -----------------------------------------------------------------------------------

wireOperator();
drawUnlocked();
void loadAll();
setInterval(drawStatus, 30_000);
followEvents({ onOpen: connectionBack, onLost: connectionLost, onEvent });
