// The operator's actions: a pasted API token unlocks retry and rollback, each asks for confirmation
// in a native <dialog>. The token lives in memory and this tab's sessionStorage, nowhere else.
import { ApiError, loadToken, postJson, retryPath, rollbackPath, saveToken } from './api.js';

const $ = (id) => document.getElementById(id);

/** Ask in the confirmation dialog; resolves true only for the confirm button. */
function confirmAction(title, text, okLabel) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

export function createOperator({ announce, onTokenChange, afterRollback }) {
  let token = loadToken();

  const result = (text) => {
    $('action-result').textContent = text;
    announce(text);
  };

  const setToken = (value) => {
    token = value;
    saveToken(value);
    onTokenChange();
  };

  const act = async (describe, call) => {
    try {
      await call();
      result(`${describe}: done.`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setToken('');
        $('operator').open = true;
        $('token-input').focus();
        result(`${describe}: the daemon refused the token (${err.code}). Paste it again.`);
        return;
      }
      const code = err instanceof ApiError ? err.code : 'DAEMON_UNREACHABLE';
      result(`${describe}: failed (${code}) ${err.message ?? ''}`.trim());
    }
  };

  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('token-input');
    const value = input.value.trim();
    input.value = '';
    if (!value) return;
    setToken(value);
    result('Actions unlocked.');
    $('token-forget').focus(); // the form just hid itself: keep the keyboard user in the panel
  });
  $('token-forget').addEventListener('click', () => {
    setToken('');
    result('Token forgotten; actions locked.');
    $('token-input').focus();
  });

  return {
    get unlocked() {
      return token !== '';
    },

    async retry(rec) {
      const name = rec.name ?? rec.location;
      if (!(await confirmAction('Retry this bundle?', `${name} will be verified again from the start, and installed if it now passes.`, 'Retry')))
        return;
      await act(`Retry ${name}`, () => postJson(retryPath(rec.id), token));
    },

    async rollback(model, kept) {
      const current = model.current ? ` Sequence ${model.current.sequence} stays in the store.` : '';
      const text = `Make sequence ${kept.sequence} (bundle ${kept.bundleId}) the current deployment.${current}`;
      if (!(await confirmAction(`Roll back ${model.name}?`, text, 'Roll back'))) return;
      await act(`Roll back ${model.name} to sequence ${kept.sequence}`, async () => {
        await postJson(rollbackPath(model.name), token, { to: kept.bundleId });
        await afterRollback();
      });
    },
  };
}
