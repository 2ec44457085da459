import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, type EventItem, type FaceBox, type Insights, type Photo, type Progress, type SearchResult } from '../api';
import { formatBytes, formatDate, formatDuration, t, type MessageKey } from '../i18n';
import { createUploader, filesFromDrop, type Uploader } from '../upload';

type Tab = 'photos' | 'upload' | 'invite' | 'insights' | 'search';

/** One event: photos with upload and processing, invite and poster, insights, a selfie search. */
export function EventPage(props: { id: number; tab: Tab }) {
  const [event, setEvent] = useState<EventItem | null | undefined>(undefined);
  useEffect(() => {
    api.event(props.id).then(setEvent, () => setEvent(null));
  }, [props.id]);
  if (event === undefined) return <p>{t('loading')}</p>;
  if (event === null) return <p>{t('notFound')} <a href="/events">{t('back')}</a></p>;
  const tabs: [Tab, MessageKey, string][] = [
    ['photos', 'photos', ''],
    ['invite', 'invite', '/invite'],
    ['insights', 'insights', '/insights'],
    ['search', 'trySelfie', '/search'],
  ];
  const tab = props.tab === 'upload' ? 'photos' : props.tab;
  return (
    <section aria-labelledby="event-title">
      <p class="no-print"><a href="/events">← {t('back')}</a></p>
      <h1 id="event-title" class="no-print">{event.name}</h1>
      <p class="muted no-print">{formatDate(event.event_date)}{event.location ? ` · ${event.location}` : ''} · {event.is_active ? t('active') : t('closed')}</p>
      <nav class="tabs no-print" aria-label={event.name}>
        {tabs.map(([key, label, suffix]) => (
          <a key={key} href={`/events/${event.id}${suffix}`} aria-current={tab === key ? 'page' : undefined}>{t(label)}</a>
        ))}
      </nav>
      {tab === 'photos' && <PhotosTab event={event} />}
      {tab === 'invite' && <InviteTab event={event} />}
      {tab === 'insights' && <InsightsTab event={event} />}
      {tab === 'search' && <SearchTab event={event} />}
    </section>
  );
}

/** Re-renders the calling component whenever the uploader reports progress. */
function useUploaderProgress(uploader: Uploader): void {
  const [, rerender] = useState(0);
  useEffect(() => uploader.subscribe(() => rerender((n) => n + 1)), [uploader]);
}

function UploadPanel(props: { uploader: Uploader }) {
  const { uploader } = props;
  // Only this panel redraws with upload progress: the photo grid beside it does not.
  useUploaderProgress(uploader);
  const [over, setOver] = useState(false);
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const fromInput = (input: HTMLInputElement) => {
    const files = [...(input.files ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
    input.value = '';
    void uploader.add(files);
  };
  const totals = uploader.totals();
  const failed = uploader.items.filter((i) => i.state === 'failed');
  const active = uploader.items.filter((i) => i.state === 'uploading' || i.state === 'retrying' || i.state === 'hashing').slice(0, 8);
  return (
    <div class="card">
      <div
        class={`dropzone ${over ? 'over' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={async (e) => {
          e.preventDefault();
          setOver(false);
          if (e.dataTransfer) await uploader.add(await filesFromDrop(e.dataTransfer));
        }}
      >
        <p><strong>{t('dropHere')}</strong></p>
        <p>
          {t('orChoose')}{' '}
          <button type="button" class="link" onClick={() => filesInput.current?.click()}>{t('chooseFiles')}</button>{' / '}
          <button type="button" class="link" onClick={() => folderInput.current?.click()}>{t('chooseFolder')}</button>
        </p>
        <input ref={filesInput} type="file" multiple accept="image/*" hidden aria-label={t('chooseFiles')} onChange={(e) => fromInput(e.target as HTMLInputElement)} />
        {/* @ts-expect-error webkitdirectory is not in the DOM typings but works in every current browser */}
        <input ref={folderInput} type="file" webkitdirectory="" multiple hidden aria-label={t('chooseFolder')} onChange={(e) => fromInput(e.target as HTMLInputElement)} />
      </div>
      {totals.files > 0 && (
        <div class="upload-status" aria-live="polite">
          <progress max={Math.max(1, totals.total)} value={totals.sent} aria-label={t('uploading')} />
          <p data-testid="upload-summary">
            {totals.done} {t('uploaded')} · {totals.skipped} {t('skipped')} · {totals.failed} {t('failed')} / {totals.files} ·{' '}
            {formatBytes(totals.sent)} / {formatBytes(totals.total)}
            {totals.active && totals.speed > 0 && ` · ${t('speed', { speed: formatBytes(totals.speed) })}`}
            {totals.eta !== null && ` · ${t('eta', { time: formatDuration(totals.eta) })}`}
          </p>
          <ul class="file-list">
            {active.map((i) => (
              <li key={i.id}>
                <span>{i.path}</span> <span class="muted">{t(i.state as MessageKey)}</span>
                <progress max={i.file.size} value={i.sent} aria-label={i.path} />
              </li>
            ))}
            {failed.map((i) => (
              <li key={i.id} class="error">
                <span>{i.path}</span>: {i.error === 'tooLarge' || i.error === 'notImage' ? t(i.error) : i.error}{' '}
                {/* Sending the same bytes again cannot cure a file too large or not an image. */}
                {i.error !== 'tooLarge' && i.error !== 'notImage' && (
                  <button type="button" class="link" onClick={() => uploader.retry(i.id)}>{t('retry')}</button>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

const STATUS_ORDER = ['done', 'processing', 'pending', 'failed'] as const;
const LIST_REFRESH_WHILE_UPLOADING_MS = 8000;
/** A photo status in the reader's language. */
const statusLabel = (status: Photo['status']): string => t(status === 'processing' ? 'statusProcessing' : status);

function PhotosTab(props: { event: EventItem }) {
  const { event } = props;
  const uploader = useMemo(() => createUploader(event.id), [event.id]);
  const [photos, setPhotos] = useState<Photo[] | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [polls, setPolls] = useState(0);
  // This tab re-renders when uploading starts or stops, not on every progress tick.
  const [uploading, setUploading] = useState(false);
  useEffect(() => uploader.subscribe(() => setUploading(uploader.totals().active)), [uploader]);

  // The photo list (all pages) is re-read only when the counts moved, and while files are still
  // being sent at most every LIST_REFRESH_WHILE_UPLOADING_MS: during a big upload the browser's and
  // the server's time goes to the upload, not to re-listing thousands of photos every poll.
  const listed = useRef({ key: '', at: 0 });
  const refresh = async () => {
    const p = await api.progress(event.id);
    setProgress(p);
    const key = `${p.total}:${p.done}:${p.failed}`;
    const due = !uploading || performance.now() - listed.current.at >= LIST_REFRESH_WHILE_UPLOADING_MS;
    if (key !== listed.current.key && due) {
      listed.current = { key, at: performance.now() };
      setPhotos(await api.photos(event.id));
    }
    return p;
  };
  // Polls while uploads run or photos are being processed; stops when everything is done.
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      const p = await refresh().catch(() => null);
      if (!stopped && (uploading || !p || !p.complete)) timer = setTimeout(tick, 2000);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [event.id, uploading, polls]);

  const failedPhotos = (photos ?? []).filter((p) => p.status === 'failed');
  // A retry puts photos back to pending: polling starts again until they finish.
  const retry = async (action: () => Promise<unknown>) => {
    await action().catch(() => undefined);
    setPolls((n) => n + 1);
  };
  return (
    <div>
      <UploadPanel uploader={uploader} />
      {progress && progress.total > 0 && (
        <div class="card" aria-live="polite">
          <h2>{t('processing')}</h2>
          <progress max={progress.total} value={progress.done + progress.failed} aria-label={t('processing')} />
          <p data-testid="progress">
            {t('processed', { done: progress.done + progress.failed, total: progress.total })} · {t('facesFound', { n: progress.faces })}
            {!progress.complete && progress.eta_seconds !== null && ` · ${t('eta', { time: formatDuration(progress.eta_seconds) })}`}
          </p>
          <p class="status-counts">
            {STATUS_ORDER.map((s) => (
              <span key={s} class={`badge ${s}`}>{statusLabel(s)}: {progress[s]}</span>
            ))}
          </p>
          {failedPhotos.length > 0 && (
            <div data-testid="failed-photos">
              <h3>{t('failedPhotos')}</h3>
              <ul class="file-list">
                {failedPhotos.slice(0, 50).map((p) => (
                  <li key={p.id} class="error">
                    {p.original_name ?? p.id}: {p.error}{' '}
                    <button type="button" class="link" onClick={() => void retry(() => api.retryPhoto(p.id))}>{t('retry')}</button>
                  </li>
                ))}
              </ul>
              {failedPhotos.length > 1 && (
                <button type="button" class="secondary" onClick={() => void retry(() => api.retryFailed(event.id))}>
                  {t('retryAllFailed', { n: failedPhotos.length })}
                </button>
              )}
            </div>
          )}
        </div>
      )}
      {photos === null ? <p>{t('loading')}</p> : photos.length === 0 ? <p class="muted">{t('noPhotos')}</p> : <PhotoGrid photos={photos} onOpen={setOpen} />}
      {open !== null && (
        <PhotoView
          id={open}
          onClose={() => setOpen(null)}
          onChanged={() => {
            setOpen(null);
            setPolls((n) => n + 1);
          }}
        />
      )}
    </div>
  );
}

const TILE = 160;
const GAP = 8;

/** A virtualised grid: only the rows in view (and a few around) are in the DOM, so 5,000 photos stay smooth. */
function PhotoGrid(props: { photos: Photo[]; onOpen(id: number): void }) {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600, width: 800 });
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // clientWidth includes the padding (8 px each side); tiles are placed inside it.
    const update = () => setView({ top: el.scrollTop, height: el.clientHeight, width: el.clientWidth - 16 });
    update();
    const ro = new ResizeObserver(update);
    ro.observe(el);
    el.addEventListener('scroll', update, { passive: true });
    return () => {
      ro.disconnect();
      el.removeEventListener('scroll', update);
    };
  }, []);
  const columns = Math.max(2, Math.floor((view.width + GAP) / (TILE + GAP)));
  const size = Math.floor((view.width - GAP * (columns - 1)) / columns);
  const rowHeight = size + GAP;
  const rows = Math.ceil(props.photos.length / columns);
  const first = Math.max(0, Math.floor(view.top / rowHeight) - 2);
  const last = Math.min(rows, Math.ceil((view.top + view.height) / rowHeight) + 2);
  const visible = props.photos.slice(first * columns, last * columns);
  return (
    <div ref={box} class="grid-scroll" data-testid="photo-grid" role="list" aria-label={t('photos')}>
      <div style={{ height: `${rows * rowHeight}px`, position: 'relative' }}>
        {visible.map((p, i) => {
          const index = first * columns + i;
          const row = Math.floor(index / columns);
          const col = index % columns;
          return (
            <button
              key={p.id}
              type="button"
              role="listitem"
              class={`tile ${p.status}`}
              style={{ top: `${row * rowHeight}px`, left: `${col * (size + GAP)}px`, width: `${size}px`, height: `${size}px` }}
              onClick={() => props.onOpen(p.id)}
              aria-label={`${t('photoOf', { name: p.original_name ?? String(p.id) })} · ${statusLabel(p.status)} · ${p.face_count}`}
            >
              {p.thumbnail_url ? <img src={p.thumbnail_url} alt="" loading="lazy" decoding="async" /> : <span>{statusLabel(p.status)}</span>}
              {p.status === 'done' && <span class="face-count">{p.face_count}</span>}
            </button>
          );
        })}
      </div>
    </div>
  );
}

/** One photo with its face boxes; `onChanged` after a delete or a retry (the list is read again). */
function PhotoView(props: { id: number; onClose(): void; onChanged(): void }) {
  const [data, setData] = useState<{ photo: Photo; faces: FaceBox[] } | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
    api.photoFaces(props.id).then(setData, () => props.onClose());
  }, [props.id]);
  const photo = data?.photo;
  return (
    <dialog ref={dialog} class="photo-view" onClose={props.onClose} aria-label={photo?.original_name ?? ''}>
      {photo ? (
        <>
          <div class="photo-frame">
            <img src={photo.preview_url ?? photo.image_url} alt={photo.original_name ?? ''} />
            {photo.width && photo.height && (
              <svg viewBox={`0 0 ${photo.width} ${photo.height}`} preserveAspectRatio="xMidYMid meet" aria-hidden="true" data-testid="face-boxes">
                {data.faces.map((f, i) => (
                  <rect key={i} x={f.x} y={f.y} width={f.width} height={f.height} class="face-box" vector-effect="non-scaling-stroke" />
                ))}
              </svg>
            )}
          </div>
          <p>
            {photo.original_name} · {photo.width}×{photo.height} · {t('facesFound', { n: data.faces.length })}
            {photo.error && <span class="error"> · {photo.error}</span>}
          </p>
          <div class="actions">
            <button type="button" class="secondary" onClick={() => dialog.current?.close()}>{t('closeView')}</button>
            {photo.status === 'failed' && (
              <button
                type="button"
                onClick={async () => {
                  await api.retryPhoto(photo.id).catch(() => undefined);
                  props.onChanged();
                }}
              >
                {t('retry')}
              </button>
            )}
            <button
              type="button"
              class="danger"
              onClick={async () => {
                if (!confirm(t('confirmDeletePhoto'))) return;
                await api.deletePhoto(photo.id);
                props.onChanged();
              }}
            >
              {t('delete')}
            </button>
          </div>
        </>
      ) : (
        <p>{t('loading')}</p>
      )}
    </dialog>
  );
}

function InviteTab(props: { event: EventItem }) {
  const [invite, setInvite] = useState<{ deep_link: string; qr_png_base64: string } | null>(null);
  const [error, setError] = useState('');
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    api.invite(props.event.id).then(setInvite, (err) => setError(err instanceof ApiError && err.status === 409 ? t('botMissing') : String(err)));
  }, [props.event.id]);
  if (error) return <p role="alert" class="error">{error}</p>;
  if (!invite) return <p>{t('loading')}</p>;
  const qr = `data:image/png;base64,${invite.qr_png_base64}`;
  return (
    <div>
      <div class="card no-print">
        <label>
          {t('deepLink')}
          <input readOnly value={invite.deep_link} onFocus={(e) => (e.target as HTMLInputElement).select()} />
        </label>
        <div class="actions">
          <button
            type="button"
            class="secondary"
            onClick={async () => {
              await navigator.clipboard?.writeText(invite.deep_link).catch(() => undefined);
              setCopied(true);
            }}
          >
            {copied ? t('copied') : t('copy')}
          </button>
          <button type="button" onClick={() => window.print()}>{t('printPoster')}</button>
        </div>
      </div>
      <article class="poster" data-testid="poster">
        <h2>{props.event.name}</h2>
        {props.event.event_date && <p class="poster-date">{formatDate(props.event.event_date)}</p>}
        <img src={qr} alt={invite.deep_link} width={320} height={320} />
        <p>{t('posterLine1')}</p>
        <p>{t('posterLine2')}</p>
      </article>
    </div>
  );
}

/** A bar chart of an hourly series, in plain SVG. */
function HourlyChart(props: { data: Insights['hourly']; series: { key: 'uploads' | 'searches' | 'joins'; label: MessageKey; color: string }[] }) {
  const { data } = props;
  if (data.length === 0) return <p class="muted">{t('noActivity')}</p>;
  const max = Math.max(1, ...data.flatMap((d) => props.series.map((s) => d[s.key])));
  const width = 640;
  const height = 200;
  // At least 12 bands: a new event's one or two hours do not turn into a wall of colour.
  const band = width / Math.max(data.length, 12);
  const bar = Math.max(1, (band * 0.8) / props.series.length);
  return (
    <figure>
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={t('activityByHour')} class="chart">
        <line x1="0" y1={height} x2={width} y2={height} stroke="#6b7280" />
        {data.map((d, i) =>
          props.series.map((s, j) => {
            const h = (d[s.key] / max) * (height - 10);
            return (
              <rect key={`${i}-${s.key}`} x={i * band + band * 0.1 + j * bar} y={height - h} width={bar} height={h} fill={s.color}>
                <title>{`${formatDate(d.hour, true)}: ${d[s.key]} ${t(s.label)}`}</title>
              </rect>
            );
          }),
        )}
        <text x="0" y={height + 16} font-size="12" fill="#374151">{formatDate(data[0]!.hour, true)}</text>
        <text x={width} y={height + 16} font-size="12" fill="#374151" text-anchor="end">{formatDate(data[data.length - 1]!.hour, true)}</text>
      </svg>
      <figcaption class="legend">
        {props.series.map((s) => (
          <span key={s.key}><i style={{ background: s.color }} /> {t(s.label)}</span>
        ))}
      </figcaption>
    </figure>
  );
}

function InsightsTab(props: { event: EventItem }) {
  const [data, setData] = useState<Insights | null>(null);
  useEffect(() => {
    void api.insights(props.event.id).then(setData);
  }, [props.event.id]);
  if (!data) return <p>{t('loading')}</p>;
  const p = data.participants;
  const funnel: [MessageKey, number][] = [['joined', p.joined], ['consented', p.consented], ['searched', p.searched], ['found', p.found]];
  const stats: [MessageKey, string | number][] = [
    ['photos', data.photos.total],
    ['faces', data.faces],
    ['searches', data.searches.total],
    ['matchRate', data.searches.match_rate === null ? '—' : `${Math.round(data.searches.match_rate * 100)} %`],
    ['deliveredBySearch', data.deliveries.by_search],
    ['deliveredLive', data.deliveries.live],
  ];
  return (
    <div data-testid="insights">
      <dl class="stats">
        {stats.map(([k, v]) => (
          <div key={k} class="card"><dt>{t(k)}</dt><dd>{v}</dd></div>
        ))}
      </dl>
      <div class="card">
        <h2>{t('funnel')}</h2>
        <svg viewBox="0 0 640 150" role="img" aria-label={t('funnel')} class="chart">
          {funnel.map(([k, v], i) => {
            const w = p.joined > 0 ? (v / p.joined) * 420 : 0;
            return (
              <g key={k}>
                <text x="0" y={i * 36 + 22} font-size="14" fill="#111827">{t(k)}</text>
                <rect x="170" y={i * 36 + 6} width={Math.max(w, 2)} height="24" fill="#1d4ed8" />
                <text x={176 + Math.max(w, 2)} y={i * 36 + 23} font-size="14" fill="#111827">{v}</text>
              </g>
            );
          })}
        </svg>
      </div>
      <div class="card">
        <h2>{t('activityByHour')}</h2>
        <HourlyChart
          data={data.hourly}
          series={[
            { key: 'uploads', label: 'uploadsSeries', color: '#1d4ed8' },
            { key: 'searches', label: 'searchesSeries', color: '#b45309' },
            { key: 'joins', label: 'joinsSeries', color: '#047857' },
          ]}
        />
      </div>
    </div>
  );
}

function SearchTab(props: { event: EventItem }) {
  const [results, setResults] = useState<SearchResult[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const file = (new FormData(e.target as HTMLFormElement).get('selfie') as File | null) ?? null;
    if (!file || file.size === 0) return;
    setBusy(true);
    setError('');
    try {
      setResults((await api.search(props.event.id, file)).results);
    } catch (err) {
      setResults(null);
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <form class="card" onSubmit={submit}>
        <p class="muted">{t('selfieHint')}</p>
        <label>
          {t('chooseSelfie')}
          <input name="selfie" type="file" accept="image/*" capture="user" required />
        </label>
        <button type="submit" disabled={busy}>{busy ? t('searching') : t('search')}</button>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      {results && (
        <div data-testid="search-results">
          <p aria-live="polite">{t('results', { n: results.length })}</p>
          <ul class="result-grid">
            {results.map((r) => (
              <li key={r.face_id}>
                <img src={r.preview_url ?? r.image_url} alt="" loading="lazy" />
                <span>{t('similarity', { value: r.similarity.toFixed(2) })}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
