import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type ApiKey } from '../api';
import { formatDate, t } from '../i18n';

/** API keys: list with last use, create (shown once), revoke. */
export function SettingsPage() {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [fresh, setFresh] = useState<string | null>(null);
  const [error, setError] = useState('');
  const load = () => api.keys().then(setKeys, (err) => setError(String(err)));
  useEffect(() => void load(), []);
  const create = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    try {
      const key = await api.createKey(String(new FormData(form).get('name')));
      setFresh(key.key);
      form.reset();
      await load();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">{t('settings')}</h1>
      <div class="card">
        <h2>{t('apiKeys')}</h2>
        <p class="muted">{t('apiKeysHint')}</p>
        <form class="inline" onSubmit={create}>
          <label>
            {t('keyName')}
            <input name="name" required maxLength={100} />
          </label>
          <button type="submit">{t('createKey')}</button>
        </form>
        {fresh && (
          <p role="status" class="fresh-key">
            {t('keyShownOnce')} <code data-testid="new-key">{fresh}</code>
          </p>
        )}
        {error && <p role="alert" class="error">{error}</p>}
        {keys && (
          <table>
            <thead>
              <tr><th scope="col">{t('keyName')}</th><th scope="col">{t('created')}</th><th scope="col">{t('lastUsed')}</th><th scope="col"><span class="visually-hidden">{t('revoke')}</span></th></tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id}>
                  <td>{k.name ?? '—'} <code>{k.prefix}…</code></td>
                  <td>{formatDate(k.created_at, true)}</td>
                  <td>{k.last_used_at ? formatDate(k.last_used_at, true) : t('never')}</td>
                  <td>
                    <button
                      type="button"
                      class="danger"
                      onClick={async () => {
                        if (!confirm(t('confirmRevoke', { name: k.name ?? k.prefix }))) return;
                        await api.revokeKey(k.id);
                        await load();
                      }}
                    >
                      {t('revoke')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
