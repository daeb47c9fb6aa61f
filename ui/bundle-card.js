// One bundle's card: built once per record, then updated in place so focus, open <details> and
// screen-reader position survive the several updates a second that progress brings.
import { definitionList, domId, fill, h, setText } from './dom.js';
import {
  arrivalText,
  baseName,
  canRetry,
  cardTime,
  duplicateText,
  formatTime,
  partsVerificationText,
  partsView,
  replacement,
  replacementText,
  signerLine,
  stateLabel,
  stateTone,
  verificationText,
  windowRate,
} from './format.js';

const ACTIVE = new Set(['arriving', 'queued', 'verifying', 'deploying']);
/** The daemon reports bytes present, not speed: the page measures it over this window. */
const RATE_WINDOW_MS = 20_000;

export class BundleCard {
  constructor(rec, { onRetry, unlocked, models }) {
    const id = domId('bundle', rec.id);
    this.id = rec.id;
    this.title = h('h3', { id: `${id}-title` });
    this.badge = h('p', { class: 'badge', 'data-role': 'state' });
    this.meta = h('span', { 'data-role': 'facts' });
    this.when = h('time', { class: 'when', 'data-role': 'when' });
    this.replaced = h('p', { class: 'replaced', 'data-role': 'replaced', hidden: true });
    this.duplicate = h('p', { class: 'duplicate', 'data-role': 'duplicate', hidden: true });
    this.arrival = meter(`${id}-arrival`, 'Arrival');
    this.parts = h('div', { class: 'parts', 'data-role': 'parts', hidden: true });
    this.verification = meter(`${id}-verification`, 'Verification');
    this.signers = h('div', { class: 'signers', 'data-role': 'signers' });
    this.error = h('div', { class: 'error', 'data-role': 'error' });
    this.note = h('p', { class: 'note', 'data-role': 'note' });
    this.deploy = h('p', { class: 'deploy', 'data-role': 'deploy' });
    this.details = h('div');
    this.retry = h(
      'button',
      { type: 'button', class: 'action', 'data-action': 'retry', hidden: true, onclick: () => onRetry(this.record) },
      'Retry verification',
    );
    this.element = h(
      'li',
      { id, class: 'card bundle-card', 'data-bundle-id': rec.id },
      h(
        'article',
        { 'aria-labelledby': `${id}-title` },
        h('div', { class: 'card-head' }, this.title, this.badge),
        h('p', { class: 'meta' }, this.when, ' · ', this.meta),
        this.replaced,
        this.duplicate,
        this.arrival.element,
        this.parts,
        this.verification.element,
        this.signers,
        this.error,
        this.note,
        this.deploy,
        h('details', { class: 'more' }, h('summary', {}, 'Details'), this.details),
        h('div', { class: 'actions' }, this.retry),
      ),
    );
    this.keys = {};
    this.arrivalSamples = [];
    this.models = models ?? [];
    this.update(rec, unlocked);
  }

  /** Apply a newer record; `unlocked` says whether the operator gave a token; `models` (when given) tell what serves now. */
  update(rec, unlocked, models = this.models) {
    this.record = rec;
    this.models = models;
    setText(this.title, rec.name ?? baseName(rec.location));
    this.element.dataset.state = rec.state;
    // An installed bundle its model no longer serves says so, in the badge as in words.
    const replaced = replacement(rec, models);
    this.element.dataset.replaced = replaced ? 'true' : 'false';
    const shown = replaced ? 'replaced' : rec.state;
    this.badge.className = `badge tone-${stateTone(shown)}`;
    this.once('badge', shown, () => fill(this.badge, h('span', { class: 'visually-hidden' }, 'State: '), stateLabel(shown)));
    setText(this.replaced, replaced ? replacementText(replaced) : '');
    this.replaced.hidden = !replaced;
    setText(this.duplicate, rec.state === 'duplicate' ? duplicateText(rec.duplicateOf) : '');
    this.duplicate.hidden = rec.state !== 'duplicate';
    this.when.setAttribute(
      'datetime',
      rec.state === 'arriving' || rec.state === 'queued' || rec.state === 'verifying' ? rec.detectedAt : rec.updatedAt,
    );
    setText(this.when, cardTime(rec));
    setText(this.meta, metaLine(rec));
    this.updateArrival(rec);
    this.once('parts', rec.arrival?.parts, () => renderParts(this.parts, rec.arrival?.parts));
    this.updateVerification(rec);
    this.once('signers', [rec.signers, rec.trust?.trustedKeys, rec.trust?.threshold], () => renderSigners(this.signers, rec));
    this.once('error', rec.error, () => renderError(this.error, rec.error, rec.state));
    // A duplicate's note is the daemon's wording of the line above.
    const note = rec.state === 'duplicate' ? '' : (rec.note ?? '');
    setText(this.note, note);
    this.note.hidden = !note;
    setText(this.deploy, rec.deployment ? deployLine(rec.deployment) : '');
    this.deploy.hidden = !rec.deployment;
    this.once('details', [rec.location, rec.bundleId, rec.manifestDigest, rec.install, rec.duplicateOf, rec.detectedAt, rec.removed], () =>
      renderDetails(this.details, rec),
    );
    this.retry.hidden = !(unlocked && canRetry(rec.state));
  }

  updateArrival(rec) {
    const { bar, text } = this.arrival;
    const present = rec.arrival?.bytesPresent ?? 0;
    const expected = rec.arrival?.bytesExpected;
    if (expected === undefined && rec.state === 'arriving') {
      bar.removeAttribute('value'); // indeterminate: a tar's size is known once read
    } else {
      const max = Math.max(expected ?? present, 1);
      bar.max = max;
      bar.value = Math.min(present, max);
    }
    // Parts on sticks arrive when a stick is plugged in: a speed and a time left would only mislead.
    setText(text, arrivalText(rec.arrival, rec.arrival?.parts ? undefined : this.arrivalRate(rec.state, present)));
  }

  arrivalRate(state, bytes) {
    if (state !== 'arriving') {
      this.arrivalSamples = [];
      return undefined;
    }
    const now = Date.now();
    const samples = this.arrivalSamples.filter((s) => now - s.at <= RATE_WINDOW_MS && s.bytes <= bytes);
    samples.push({ at: now, bytes });
    this.arrivalSamples = samples;
    return windowRate(samples);
  }

  updateVerification(rec) {
    const { bar, text } = this.verification;
    const v = rec.verification ?? { bytesDone: 0, bytesTotal: 0 };
    // While a bundle arrives, the bar shows what is verified already (a folder's files copied, or a split bundle's
    // parts spooled), beside the arrival bar's bytes on disk.
    const early = rec.state === 'arriving' && rec.arrival?.bytesVerified !== undefined;
    bar.max = Math.max(early ? (rec.arrival.bytesExpected ?? 0) : v.bytesTotal, 1);
    bar.value = Math.min(early ? rec.arrival.bytesVerified : v.bytesDone, bar.max);
    const parts = rec.arrival?.parts;
    setText(
      text,
      parts && rec.state === 'arriving' ? partsVerificationText(parts, rec.arrival) : verificationText(v, rec.state, Date.now(), rec.arrival),
    );
  }

  get active() {
    return ACTIVE.has(this.record.state);
  }

  // Rebuild a part only when its data changed.
  once(part, value, render) {
    const key = JSON.stringify(value ?? null);
    if (this.keys[part] === key) return;
    this.keys[part] = key;
    render();
  }
}

function meter(id, label) {
  const bar = h('progress', { id, max: 1, value: 0, 'aria-describedby': `${id}-text` });
  const text = h('p', { id: `${id}-text`, class: 'meter-text' });
  return { bar, text, element: h('div', { class: 'meter' }, h('label', { for: id }, label), bar, text) };
}

function metaLine(rec) {
  const parts = [];
  if (rec.channel !== undefined) parts.push(`channel ${rec.channel}`);
  if (rec.sequence !== undefined) parts.push(`sequence ${rec.sequence}`);
  if (rec.kind) parts.push(rec.kind);
  parts.push(`${rec.form} form${rec.media ? ', on removable media' : ''}`);
  return parts.join(' · ');
}

function deployLine(d) {
  const parts = [`Container: ${stateLabel(d.state)}`];
  if (d.health) parts.push(`health ${d.health}`);
  if (d.code) parts.push(d.code);
  if (d.message) parts.push(d.message);
  return parts.join(' · ');
}

function renderSigners(el, rec) {
  const signers = rec.signers ?? [];
  el.hidden = signers.length === 0;
  if (signers.length === 0) return fill(el);
  const trust = rec.trust;
  const summary = trust ? `Signers (${trust.trustedKeys} trusted of threshold ${trust.threshold})` : 'Signers';
  return fill(
    el,
    h('h4', {}, summary),
    h(
      'ul',
      {},
      signers.map((s) => h('li', { class: `signer signer-${s.status}` }, signerLine(s))),
    ),
  );
}

// Each failure carries its own code, path and message; the error's message only summarises them.
function renderError(el, error, state) {
  el.hidden = !error;
  if (!error) return fill(el);
  const failures = error.failures?.length ? error.failures : [{ code: error.code, path: error.path, message: error.message }];
  const line = (f) => [
    f.code !== error.code || failures.length > 1 ? [h('code', { class: 'code' }, f.code), ' '] : '',
    f.path && !f.message.includes(f.path) ? [h('code', {}, f.path), ': '] : '',
    f.message,
  ];
  return fill(
    el,
    h('h4', {}, state === 'failed' ? 'Failed: ' : 'Rejected: ', h('code', { class: 'code' }, error.code)),
    failures.length === 1
      ? h('p', {}, line(failures[0]))
      : h(
          'ul',
          { class: 'failures' },
          failures.map((f) => h('li', {}, line(f))),
        ),
  );
}

// Parts of a split bundle on several sticks: what to do now (which stick may be removed), then the details.
function renderParts(el, parts) {
  const view = partsView(parts);
  el.hidden = !view;
  if (!view) return fill(el);
  return fill(
    el,
    h('p', { class: 'parts-message', 'data-role': 'parts-message' }, view.message),
    view.reading ? h('p', { class: 'parts-reading' }, view.reading) : '',
    h(
      'ul',
      { class: 'sticks', 'aria-label': 'Sticks' },
      view.sticks.map((s) => h('li', { class: s.removable ? 'stick stick-removable' : 'stick' }, s.text)),
    ),
    view.duplicates ? h('p', { class: 'note' }, view.duplicates) : '',
    view.rejected.length
      ? h(
          'div',
          { class: 'error', 'data-role': 'parts-rejected' },
          h('h4', {}, 'Refused copies (the parts already received are kept)'),
          h(
            'ul',
            { class: 'failures' },
            view.rejected.map((r) => h('li', {}, h('code', { class: 'code' }, r.code), ' ', r.text)),
          ),
        )
      : '',
  );
}

function renderDetails(el, rec) {
  fill(
    el,
    definitionList([
      ['Location', rec.location],
      ['Bundle id', rec.bundleId],
      ['Manifest digest', rec.manifestDigest ? h('code', { class: 'digest' }, rec.manifestDigest) : undefined],
      ['Installed at', rec.install?.path],
      [
        'Duplicate of',
        rec.duplicateOf ? [rec.duplicateOf.bundleId, rec.duplicateOf.path ? ` (in the store at ${rec.duplicateOf.path})` : ''] : undefined,
      ],
      ['Detected', formatTime(rec.detectedAt)],
      ['Removed from drop', rec.removed ? 'yes' : undefined],
    ]),
  );
}
