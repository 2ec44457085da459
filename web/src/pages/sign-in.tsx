import { useState } from 'preact/hooks';
import { api, ApiError, type SessionInfo } from '../api';
import { t } from '../i18n';

function message(error: unknown): string {
  if (error instanceof ApiError) return error.status === 401 ? t('wrongLogin') : error.message;
  return t('error', { message: String(error) });
}

/** Email and password sign-in. */
export function SignInPage(props: { onSignedIn(s: SessionInfo): void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    setBusy(true);
    setError('');
    try {
      props.onSignedIn(await api.login(String(form.get('email')), String(form.get('password'))));
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card narrow" onSubmit={submit} aria-labelledby="signin-title">
      <h1 id="signin-title">{t('appName')}</h1>
      <label>
        {t('email')}
        <input name="email" type="email" autoComplete="username" required />
      </label>
      <label>
        {t('password')}
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      {error && <p role="alert" class="error">{error}</p>}
      <button type="submit" disabled={busy}>{t('signIn')}</button>
    </form>
  );
}

/** The invite link's page: the token is in the fragment, never sent to the server but by this form. */
export function InvitePage(props: { onSignedIn(s: SessionInfo): void }) {
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    try {
      props.onSignedIn(await api.acceptInvite(location.hash.slice(1), String(form.get('password'))));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <form class="card narrow" onSubmit={submit}>
      <h1>{t('inviteTitle')}</h1>
      <p class="muted">{t('inviteHint')}</p>
      <label>
        {t('password')}
        <input name="password" type="password" autoComplete="new-password" minLength={10} required />
      </label>
      {error && <p role="alert" class="error">{error}</p>}
      <button type="submit">{t('invitePasswordSet')}</button>
    </form>
  );
}
