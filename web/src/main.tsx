import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrf, setUnauthorizedHandler, type SessionInfo } from './api';
import { navigate, onLinkClick, usePath } from './router';
import { currentLang, setLang, t, useLang, type Lang } from './i18n';
import { SignInPage, InvitePage } from './pages/sign-in';
import { EventsPage, prefetchEvents } from './pages/events';
import { EventPage } from './pages/event';
import { SettingsPage } from './pages/settings';
import './styles.css';

function LanguageSwitch() {
  const lang = useLang();
  return (
    <label class="lang">
      <span class="visually-hidden">{t('language')}</span>
      <select value={lang} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
        <option value="en">English</option>
        <option value="ru">Русский</option>
      </select>
    </label>
  );
}

// The console opens on the events list: ask for it alongside the session check.
if (location.pathname === '/' || location.pathname === '/events') prefetchEvents();

function App() {
  useLang();
  const path = usePath();
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setSession(null);
      navigate('/sign-in', true);
    });
    api.session().then(
      (s) => {
        setCsrf(s.csrf_token);
        setSession(s);
      },
      () => setSession(null),
    );
  }, []);

  const signedIn = (s: SessionInfo) => {
    setCsrf(s.csrf_token);
    setSession(s);
    navigate('/events', true);
  };
  const signOut = async () => {
    await api.logout().catch(() => undefined);
    setCsrf('');
    setSession(null);
    navigate('/sign-in', true);
  };

  if (session === undefined) return <p class="center">{t('loading')}</p>;
  if (path === '/invite') return <Shell><InvitePage onSignedIn={signedIn} /></Shell>;
  if (!session) {
    if (path !== '/sign-in') history.replaceState(null, '', '/sign-in');
    return <Shell><SignInPage onSignedIn={signedIn} /></Shell>;
  }
  let page;
  const eventMatch = /^\/events\/(\d+)(?:\/(upload|invite|insights|search))?$/.exec(path);
  if (eventMatch) page = <EventPage id={Number(eventMatch[1])} tab={(eventMatch[2] as 'upload' | 'invite' | 'insights' | 'search' | undefined) ?? 'photos'} />;
  else if (path === '/settings') page = <SettingsPage />;
  else {
    if (path !== '/events') history.replaceState(null, '', '/events');
    page = <EventsPage />;
  }
  return (
    <Shell
      nav={
        <nav aria-label="main">
          <a href="/events" aria-current={path.startsWith('/events') ? 'page' : undefined}>{t('events')}</a>
          <a href="/settings" aria-current={path === '/settings' ? 'page' : undefined}>{t('settings')}</a>
          <span class="who">{session.photographer.email}</span>
          <button type="button" class="link" onClick={signOut}>{t('signOut')}</button>
        </nav>
      }
    >
      {page}
    </Shell>
  );
}

function Shell(props: { nav?: preact.ComponentChildren; children: preact.ComponentChildren }) {
  return (
    <div onClick={onLinkClick}>
      <a class="skip" href="#main">{t('skipToContent')}</a>
      <header class="top no-print">
        <a href="/events" class="brand">FacePass</a>
        {props.nav}
        <LanguageSwitch />
      </header>
      <main id="main" tabIndex={-1}>{props.children}</main>
    </div>
  );
}

document.documentElement.lang = currentLang();
render(<App />, document.getElementById('app')!);
