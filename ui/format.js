// Pure formatting for the status page: numbers and times in words a person reads at a glance.
// No DOM here, so the tap tests can import this module in Node.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 -> "1.50 KiB"; three significant digits, binary units (sizes on disk). */
export function formatBytes(n) {
  if (!Number.isFinite(n) || n < 0) return '?';
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${n} B`;
  const digits = v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)} ${UNITS[i]}`;
}

export function formatRate(bytesPerSecond) {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** 3725 -> "1 h 02 min"; 75 -> "1 min 15 s"; 4.2 -> "4.2 s". */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 9.95 && !Number.isInteger(seconds)) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Whole percent, floored so 99.9 % never shows as done. */
export function percent(done, total) {
  if (!total || total <= 0) return 0;
  return Math.min(100, Math.floor((done / total) * 100));
}

/** Seconds left at `rate` bytes/s, or undefined when it cannot be told. */
export function secondsLeft(done, total, rate) {
  if (!rate || rate <= 0 || !total || done >= total) return undefined;
  return (total - done) / rate;
}

/** Bytes/s from the start of the verification, when the daemon did not say. */
export function rateSince(bytesDone, startedAt, now = Date.now()) {
  const start = Date.parse(startedAt ?? '');
  if (!Number.isFinite(start) || bytesDone <= 0) return undefined;
  const seconds = (now - start) / 1000;
  return seconds > 0.2 ? bytesDone / seconds : undefined;
}

/** The line under the arrival bar; `rate` (bytes/s, measured by the page) adds speed and time left. */
export function arrivalText(arrival, rate) {
  const present = arrival?.bytesPresent ?? 0;
  const expected = arrival?.bytesExpected;
  if (expected === undefined) return `${formatBytes(present)} received (total known once read)`;
  const parts = [`${formatBytes(present)} of ${formatBytes(expected)} (${percent(present, expected)}%)`];
  if (rate) parts.push(formatRate(rate));
  const left = secondsLeft(present, expected, rate);
  if (left !== undefined) parts.push(`about ${formatDuration(Math.ceil(left))} left`);
  return parts.join(' · ');
}

/**
 * A split bundle spooled from several sticks (arrival.parts): the daemon's sentence ("parts 4 of 9 received; stick
 * STICK-A may be removed …"), one line per stick, one per refused copy.
 */
export function partsView(parts) {
  if (!parts) return undefined;
  const sticks = (parts.sticks ?? []).map((s) => {
    const where = s.media ? `stick ${s.label}` : `folder ${s.path}`;
    const got = `${s.partsReceived} part${s.partsReceived === 1 ? '' : 's'} received`;
    const now = !s.present ? 'removed' : s.removable ? 'may be removed' : 'still needed';
    return { text: `${where}: ${got} · ${now}`, removable: s.present && s.removable };
  });
  const rejected = (parts.rejected ?? []).map((r) => ({ code: r.code, text: r.message }));
  const reading = parts.reading
    ? `Reading ${parts.reading.part} from ${parts.reading.stick}: ${formatBytes(parts.reading.bytesDone)} of ${formatBytes(parts.reading.bytes)}`
    : undefined;
  const duplicates = parts.duplicates
    ? `${parts.duplicates} second cop${parts.duplicates === 1 ? 'y' : 'ies'} of spooled parts matched and ignored`
    : undefined;
  return { message: parts.message, sticks, rejected, reading, duplicates };
}

/** The verification line while parts still arrive: their entries are verified as soon as the parts before them are in. */
export function partsVerificationText(parts, arrival = undefined) {
  const unpacked = `${parts.unpackedParts} of ${parts.total} parts unpacked and verified as they arrived`;
  if (arrival?.bytesVerified === undefined) return unpacked;
  const verified = `${formatBytes(arrival.bytesVerified)} of ${formatBytes(parts.bytesTotal)} verified against the signed index`;
  return `${verified} · ${unpacked}`;
}

/** Bytes/s over recent samples [{ at: ms, bytes }], oldest first; undefined until a second has passed. */
export function windowRate(samples) {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || last.at - first.at < 1000 || last.bytes <= first.bytes) return undefined;
  return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
}

/** A folder bundle verified while it arrives: what the verification bar says before the install starts. */
export function arrivingVerificationText(arrival) {
  const verified = arrival?.bytesVerified ?? 0;
  const expected = arrival?.bytesExpected;
  switch (arrival?.staging) {
    case 'waiting':
      return 'Waiting for trusted signatures: no file is read before they hold';
    case 'staging':
    case 'staged':
      return `${formatBytes(verified)} of ${formatBytes(expected ?? 0)} verified as it arrives (${percent(verified, expected)}%)`;
    case 'off':
      return verified > 0
        ? `${formatBytes(verified)} verified; the rest once the bundle has fully arrived`
        : 'Starts once the bundle has fully arrived';
    default:
      return 'Starts once the bundle has fully arrived';
  }
}

/** The line under the verification bar: amount, rate, time left or time taken. `arrival` (optional): the record's. */
export function verificationText(v, state, now = Date.now(), arrival = undefined) {
  const done = v?.bytesDone ?? 0;
  const total = v?.bytesTotal ?? 0;
  if (state === 'arriving') return arrivingVerificationText(arrival);
  // Never a byte count or a duration: a duplicate's payload was not read, so nothing of it was checked.
  if (state === 'duplicate') return 'Payload not read: same signed manifest as an installed bundle, so nothing of this copy was checked or used';
  if (state === 'queued') return 'Waiting for its turn (one bundle verifies at a time)';
  if (total === 0) return state === 'verifying' ? 'Reading the manifest and signatures' : 'Not verified';
  const parts = [`${formatBytes(done)} of ${formatBytes(total)} (${percent(done, total)}%)`];
  if (v.durationMs !== undefined && state !== 'verifying') {
    parts.push(`took ${formatDuration(v.durationMs / 1000)}`);
    return parts.join(' · ');
  }
  const rate = v.rate ?? rateSince(done, v.startedAt, now);
  if (rate) parts.push(formatRate(rate));
  const left = secondsLeft(done, total, rate);
  if (left !== undefined) parts.push(`about ${formatDuration(Math.ceil(left))} left`);
  if (v.phase) parts.push(PHASES[v.phase] ?? v.phase);
  return parts.join(' · ');
}

const PHASES = { signatures: 'checking signatures', payload: 'hashing files', activating: 'activating' };

/** States as words: "rolled-back" -> "rolled back". */
export function stateLabel(state) {
  return String(state ?? 'unknown').replace(/-/g, ' ');
}

/** Which colour family a state belongs to (the word is always shown too). */
export function stateTone(state) {
  switch (state) {
    case 'installed':
    case 'ready':
    case 'accepted':
    case 'deployed':
      return 'good';
    case 'rejected':
    case 'failed':
    case 'deploy-failed':
      return 'bad';
    case 'verifying':
    case 'deploying':
    case 'starting':
    case 'rolled-back':
    case 'retry':
      return 'busy';
    // Not green: a duplicate was never verified; a replaced bundle no longer serves.
    case 'duplicate':
    case 'replaced':
      return 'muted';
    default:
      return 'info';
  }
}

/** Finished states that can be verified again: retry is offered only on these. */
export function canRetry(state) {
  return state === 'rejected' || state === 'failed' || state === 'duplicate';
}

/** Rejected and failed bundles: what an operator must look at first. */
export function needsAttention(state) {
  return state === 'rejected' || state === 'failed';
}

// The summary's order: trouble first, then what is not verified, then work in progress, then what serves.
const SUMMARY_ORDER = ['failed', 'rejected', 'duplicate', 'arriving', 'queued', 'verifying', 'deploying', 'installed', 'ready'];

/** Counts by state ({installed: 3, rejected: 1}) as [{state, count, tone}], trouble first, empty states left out. */
export function summaryParts(counts) {
  const known = SUMMARY_ORDER.filter((s) => counts?.[s] > 0);
  const others = Object.keys(counts ?? {})
    .filter((s) => !SUMMARY_ORDER.includes(s) && counts[s] > 0)
    .sort();
  return [...known, ...others].map((state) => ({ state, count: counts[state], tone: stateTone(state) }));
}

/** "2 rejected · 3 installed", or what to say when there is nothing. */
export function summaryText(counts) {
  const parts = summaryParts(counts);
  return parts.length ? parts.map((p) => `${p.count} ${stateLabel(p.state)}`).join(' · ') : 'No bundles yet';
}

/**
 * An installed (or ready) bundle its model no longer serves: the deployment current now, and whether this one is
 * still kept for rollback. Undefined when it is current, or when the models do not say.
 */
export function replacement(rec, models) {
  if ((rec.state !== 'installed' && rec.state !== 'ready') || !rec.name || !rec.manifestDigest) return undefined;
  const model = (models ?? []).find((m) => m.name === rec.name);
  const current = model?.current;
  if (!current || current.manifestDigest === rec.manifestDigest) return undefined;
  const kept = (model.kept ?? []).some((k) => k.manifestDigest === rec.manifestDigest);
  return { bundleId: current.bundleId, sequence: current.sequence, kept };
}

/** The replaced label's words: what serves now, and where this one went. */
export function replacementText(r) {
  const where = r.kept ? 'this one is kept for rollback' : 'this one is no longer in the store';
  return `Replaced: sequence ${r.sequence} (${r.bundleId}) is current now; ${where}.`;
}

const pad = (n) => String(n).padStart(2, '0');

/**
 * "2026-01-01T10:00:00Z" -> local "10:00:00" when it is today, else with its date: "yesterday 10:00:00", or
 * "2025-12-30 10:00:00" (year-month-day: no reader mistakes the day for the month).
 */
export function formatTime(iso, now = new Date()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.toDateString() === now.toDateString()) return time;
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (d.toDateString() === yesterday.toDateString()) return `yesterday ${time}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** A duplicate's line: which installed bundle it repeats, and that this copy itself was not checked. */
export function duplicateText(of, now = new Date()) {
  const from = of?.location ? ` from ${of.location}` : '';
  const when = of?.installedAt ? ` at ${formatTime(of.installedAt, now)}` : '';
  return (
    `Duplicate of ${of?.bundleId ?? 'an installed bundle'}, installed before${from}${when}. ` +
    "Its signatures were checked, but this copy's payload was not read: it is not verified, and nothing of it is used."
  );
}

/** When a card's bundle was seen, or reached its finished state. */
export function cardTime(rec, now = new Date()) {
  const active = ['arriving', 'queued', 'verifying', 'deploying'].includes(rec.state);
  return active ? `detected ${formatTime(rec.detectedAt, now)}` : `${stateLabel(rec.state)} ${formatTime(rec.updatedAt, now)}`;
}

/** Last path component of a drop location, the bundle's name until its manifest is read. */
export function baseName(location) {
  const parts = String(location ?? '')
    .split('/')
    .filter(Boolean);
  return parts[parts.length - 1] ?? String(location ?? '');
}

/** "SHA256:abc…" is long; keep it whole (operators compare it with ssh-keygen -l). */
export function signerLine(s) {
  const who = s.principals?.length ? s.principals.join(', ') : 'unknown key';
  return `${who} — ${s.fingerprint ?? 'no fingerprint'} (${s.status})`;
}
