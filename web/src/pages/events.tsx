import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, type EventCounts, type EventInput, type EventItem } from '../api';
import { formatDate, t } from '../i18n';

/** The event form's fields, for create and edit. */
function EventForm(props: { initial?: EventItem; onSubmit(body: EventInput): Promise<void>; onCancel?: () => void; submitLabel: string }) {
  const [error, setError] = useState('');
  const e0 = props.initial;
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const text = (k: string) => String(form.get(k) ?? '').trim() || null;
    const date = text('event_date');
    try {
      await props.onSubmit({
        name: String(form.get('name') ?? ''),
        location: text('location'),
        description: text('description'),
        event_date: date ? new Date(`${date}T12:00:00`).toISOString() : null,
      });
      if (!e0) (e.target as HTMLFormElement).reset();
      setError('');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <form class="event-form" onSubmit={submit}>
      <label>
        {t('name')}
        <input name="name" required maxLength={200} defaultValue={e0?.name ?? ''} />
      </label>
      <label>
        {t('date')}
        <input name="event_date" type="date" defaultValue={e0?.event_date?.slice(0, 10) ?? ''} />
      </label>
      <label>
        {t('location')}
        <input name="location" maxLength={500} defaultValue={e0?.location ?? ''} />
      </label>
      <label class="wide">
        {t('description')}
        <input name="description" maxLength={2000} defaultValue={e0?.description ?? ''} />
      </label>
      {error && <p role="alert" class="error wide">{error}</p>}
      <div class="actions wide">
        <button type="submit">{props.submitLabel}</button>
        {props.onCancel && <button type="button" class="secondary" onClick={props.onCancel}>{t('cancel')}</button>}
      </div>
    </form>
  );
}

const eventsWithCounts = async (): Promise<{ list: EventItem[]; counts: EventCounts[] }> => {
  const list = await api.events();
  return { list, counts: await api.counts(list.slice(0, 200).map((e) => e.id)) };
};
let early: { at: number; answer: Promise<{ list: EventItem[]; counts: EventCounts[] }> } | undefined;
/**
 * Asks for the events list while the session is still being checked (the console opens on it): a
 * signed-in photographer sees it a round trip sooner. Without a session it answers 401 like the check.
 */
export function prefetchEvents(): void {
  early = { at: Date.now(), answer: eventsWithCounts() };
  early.answer.catch(() => undefined);
}

/** The photographer's events: search, counts, create, edit, close and delete. */
export function EventsPage() {
  const [events, setEvents] = useState<EventItem[] | null>(null);
  const [counts, setCounts] = useState<Map<number, EventCounts>>(new Map());
  const [query, setQuery] = useState('');
  const [editing, setEditing] = useState<number | null>(null);
  const [error, setError] = useState('');

  const load = async () => {
    try {
      // The early answer serves the first view only if it is fresh and came through (before sign-in it was a 401).
      const prefetched = early && Date.now() - early.at < 10_000 ? early.answer : undefined;
      early = undefined;
      const { list, counts: c } = (await prefetched?.catch(() => undefined)) ?? (await eventsWithCounts());
      setEvents(list);
      setCounts(new Map(c.map((x) => [x.event_id, x])));
    } catch (err) {
      setError(String(err));
    }
  };
  useEffect(() => void load(), []);

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (events ?? []).filter((e) => !q || `${e.name} ${e.location ?? ''} ${e.description ?? ''}`.toLowerCase().includes(q));
  }, [events, query]);

  const act = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      setError('');
      await load();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };

  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">{t('events')}</h1>
      <details class="card" open={events?.length === 0}>
        <summary>{t('newEvent')}</summary>
        <EventForm submitLabel={t('create')} onSubmit={async (body) => void (await api.createEvent(body), await load())} />
      </details>
      <label class="search">
        <span class="visually-hidden">{t('searchEvents')}</span>
        <input type="search" placeholder={t('searchEvents')} value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
      </label>
      {error && <p role="alert" class="error">{error}</p>}
      {events === null ? (
        <p>{t('loading')}</p>
      ) : shown.length === 0 ? (
        <p class="muted">{t('noEvents')}</p>
      ) : (
        <ul class="event-list">
          {shown.map((e) => {
            const c = counts.get(e.id);
            return (
              <li key={e.id} class="card">
                {editing === e.id ? (
                  <EventForm
                    initial={e}
                    submitLabel={t('save')}
                    onCancel={() => setEditing(null)}
                    onSubmit={async (body) => {
                      await api.updateEvent(e.id, body);
                      setEditing(null);
                      await load();
                    }}
                  />
                ) : (
                  <>
                    <div class="event-head">
                      <h2>
                        <a href={`/events/${e.id}`}>{e.name}</a>
                      </h2>
                      <span class={`badge ${e.is_active ? 'ok' : ''}`}>{e.is_active ? t('active') : t('closed')}</span>
                    </div>
                    <p class="muted">
                      {formatDate(e.event_date)}
                      {e.location ? ` · ${e.location}` : ''}
                    </p>
                    <dl class="counts">
                      <div><dt>{t('photos')}</dt><dd>{c?.photos ?? '…'}</dd></div>
                      <div><dt>{t('faces')}</dt><dd>{c?.faces ?? '…'}</dd></div>
                      <div><dt>{t('participants')}</dt><dd>{c?.participants ?? '…'}</dd></div>
                    </dl>
                    <div class="actions">
                      <a class="button" href={`/events/${e.id}`}>{t('open')}</a>
                      <button type="button" class="secondary" onClick={() => setEditing(e.id)}>{t('edit')}</button>
                      <button type="button" class="secondary" onClick={() => act(() => api.updateEvent(e.id, { is_active: !e.is_active }))}>
                        {e.is_active ? t('close') : t('reopen')}
                      </button>
                      <button
                        type="button"
                        class="danger"
                        onClick={() => confirm(t('confirmDeleteEvent', { name: e.name })) && act(() => api.deleteEvent(e.id))}
                      >
                        {t('delete')}
                      </button>
                    </div>
                  </>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
