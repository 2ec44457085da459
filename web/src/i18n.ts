import { useEffect, useState } from 'preact/hooks';

const en = {
  appName: 'FacePass console',
  signIn: 'Sign in',
  email: 'Email',
  password: 'Password',
  signOut: 'Sign out',
  wrongLogin: 'Wrong email or password',
  inviteTitle: 'Choose your password',
  inviteHint: 'At least 10 characters. The link works once.',
  invitePasswordSet: 'Set password and sign in',
  events: 'Events',
  settings: 'Settings',
  language: 'Language',
  searchEvents: 'Search events',
  newEvent: 'New event',
  name: 'Name',
  date: 'Date',
  location: 'Location',
  description: 'Description',
  create: 'Create',
  save: 'Save',
  cancel: 'Cancel',
  edit: 'Edit',
  close: 'Close event',
  reopen: 'Reopen',
  delete: 'Delete',
  confirmDeleteEvent: 'Delete the event "{name}" with all its photos? This cannot be undone.',
  confirmDeletePhoto: 'Delete this photo?',
  closed: 'closed',
  active: 'active',
  photos: 'Photos',
  faces: 'Faces',
  participants: 'Participants',
  noEvents: 'No events yet: create the first one.',
  open: 'Open',
  upload: 'Upload',
  invite: 'Invite',
  insights: 'Insights',
  trySelfie: 'Try a selfie',
  dropHere: 'Drop photos or folders here',
  orChoose: 'or choose',
  chooseFiles: 'files',
  chooseFolder: 'a folder',
  uploading: 'Uploading',
  uploaded: 'uploaded',
  skipped: 'already there',
  failed: 'failed',
  queued: 'queued',
  hashing: 'checking',
  retrying: 'retrying',
  tooLarge: 'Too large for the server',
  notImage: 'Not a supported image (JPEG, PNG, WebP, AVIF, TIFF)',
  retry: 'Retry',
  retryAllFailed: 'Retry all failed ({n})',
  failedPhotos: 'Failed photos',
  speed: '{speed}/s',
  eta: 'about {time} left',
  processing: 'Processing',
  processed: '{done} of {total} processed',
  pending: 'pending',
  done: 'done',
  statusProcessing: 'processing',
  facesFound: '{n} faces found',
  noPhotos: 'No photos yet.',
  photoOf: 'Photo {name}',
  closeView: 'Close',
  deepLink: 'Link for participants',
  copy: 'Copy',
  copied: 'Copied',
  printPoster: 'Print poster',
  posterLine1: 'Scan the code with your phone camera and open Telegram.',
  posterLine2: 'Send a selfie: the bot finds every photo of you from this event.',
  botMissing: 'Invites need the Telegram bot: set TELEGRAM_BOT_USERNAME or TELEGRAM_BOT_TOKEN.',
  joined: 'Joined',
  consented: 'Consented',
  searched: 'Searched',
  found: 'Found photos',
  searches: 'Searches',
  matchRate: 'Match rate',
  deliveredBySearch: 'Photos shown by search',
  deliveredLive: 'Photos sent live',
  activityByHour: 'Activity by hour',
  uploadsSeries: 'uploads',
  searchesSeries: 'searches',
  joinsSeries: 'joins',
  noActivity: 'No activity yet.',
  funnel: 'Participants',
  selfieHint: 'Search this event with a selfie, as a participant would.',
  chooseSelfie: 'Selfie',
  search: 'Search',
  searching: 'Searching…',
  results: '{n} photos found',
  similarity: 'similarity {value}',
  apiKeys: 'API keys',
  apiKeysHint: 'For scripts and `facepass upload`. A key is shown once, when it is created.',
  keyName: 'Key name',
  createKey: 'Create key',
  keyShownOnce: 'Copy the key now; it will not be shown again:',
  revoke: 'Revoke',
  confirmRevoke: 'Revoke the key "{name}"? Scripts using it stop working.',
  created: 'Created',
  lastUsed: 'Last used',
  never: 'never',
  loading: 'Loading…',
  notFound: 'Not found.',
  back: 'Back to events',
  error: 'Something went wrong: {message}',
  skipToContent: 'Skip to content',
};
type Dict = typeof en;
export type MessageKey = keyof Dict;

const ru: Dict = {
  appName: 'Консоль FacePass',
  signIn: 'Войти',
  email: 'Эл. почта',
  password: 'Пароль',
  signOut: 'Выйти',
  wrongLogin: 'Неверная почта или пароль',
  inviteTitle: 'Придумайте пароль',
  inviteHint: 'Не короче 10 символов. Ссылка работает один раз.',
  invitePasswordSet: 'Сохранить пароль и войти',
  events: 'События',
  settings: 'Настройки',
  language: 'Язык',
  searchEvents: 'Поиск событий',
  newEvent: 'Новое событие',
  name: 'Название',
  date: 'Дата',
  location: 'Место',
  description: 'Описание',
  create: 'Создать',
  save: 'Сохранить',
  cancel: 'Отмена',
  edit: 'Изменить',
  close: 'Закрыть событие',
  reopen: 'Открыть снова',
  delete: 'Удалить',
  confirmDeleteEvent: 'Удалить событие «{name}» со всеми фотографиями? Это нельзя отменить.',
  confirmDeletePhoto: 'Удалить эту фотографию?',
  closed: 'закрыто',
  active: 'активно',
  photos: 'Фото',
  faces: 'Лица',
  participants: 'Участники',
  noEvents: 'Событий пока нет: создайте первое.',
  open: 'Открыть',
  upload: 'Загрузка',
  invite: 'Приглашение',
  insights: 'Статистика',
  trySelfie: 'Проверить селфи',
  dropHere: 'Перетащите сюда фотографии или папки',
  orChoose: 'или выберите',
  chooseFiles: 'файлы',
  chooseFolder: 'папку',
  uploading: 'Загружается',
  uploaded: 'загружено',
  skipped: 'уже на сервере',
  failed: 'ошибка',
  queued: 'в очереди',
  hashing: 'проверка',
  retrying: 'повтор',
  tooLarge: 'Слишком большой файл для сервера',
  notImage: 'Неподдерживаемый формат (JPEG, PNG, WebP, AVIF, TIFF)',
  retry: 'Повторить',
  retryAllFailed: 'Повторить все с ошибкой ({n})',
  failedPhotos: 'Фото с ошибкой',
  speed: '{speed}/с',
  eta: 'осталось около {time}',
  processing: 'Обработка',
  processed: 'обработано {done} из {total}',
  pending: 'в очереди',
  done: 'готово',
  statusProcessing: 'обрабатывается',
  facesFound: 'найдено лиц: {n}',
  noPhotos: 'Фотографий пока нет.',
  photoOf: 'Фото {name}',
  closeView: 'Закрыть',
  deepLink: 'Ссылка для участников',
  copy: 'Копировать',
  copied: 'Скопировано',
  printPoster: 'Печать плаката',
  posterLine1: 'Наведите камеру телефона на код и откройте Telegram.',
  posterLine2: 'Отправьте селфи — бот найдёт все ваши фото с этого события.',
  botMissing: 'Для приглашений нужен Telegram-бот: задайте TELEGRAM_BOT_USERNAME или TELEGRAM_BOT_TOKEN.',
  joined: 'Присоединились',
  consented: 'Дали согласие',
  searched: 'Искали',
  found: 'Нашли фото',
  searches: 'Поиски',
  matchRate: 'Доля успешных',
  deliveredBySearch: 'Фото показано поиском',
  deliveredLive: 'Фото отправлено сразу',
  activityByHour: 'Активность по часам',
  uploadsSeries: 'загрузки',
  searchesSeries: 'поиски',
  joinsSeries: 'вступления',
  noActivity: 'Активности пока нет.',
  funnel: 'Участники',
  selfieHint: 'Поиск по этому событию по селфи — как у участника.',
  chooseSelfie: 'Селфи',
  search: 'Искать',
  searching: 'Поиск…',
  results: 'Найдено фото: {n}',
  similarity: 'сходство {value}',
  apiKeys: 'API-ключи',
  apiKeysHint: 'Для скриптов и `facepass upload`. Ключ показывается один раз, при создании.',
  keyName: 'Название ключа',
  createKey: 'Создать ключ',
  keyShownOnce: 'Скопируйте ключ сейчас, больше он не будет показан:',
  revoke: 'Отозвать',
  confirmRevoke: 'Отозвать ключ «{name}»? Скрипты с ним перестанут работать.',
  created: 'Создан',
  lastUsed: 'Использован',
  never: 'никогда',
  loading: 'Загрузка…',
  notFound: 'Не найдено.',
  back: 'К событиям',
  error: 'Ошибка: {message}',
  skipToContent: 'К содержимому',
};

const dictionaries = { en, ru };
export type Lang = keyof typeof dictionaries;
const STORAGE_KEY = 'facepass.lang';
let lang: Lang = ((): Lang => {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'ru') return saved;
  return navigator.language.toLowerCase().startsWith('ru') ? 'ru' : 'en';
})();
const listeners = new Set<() => void>();
document.documentElement.lang = lang;

/** The message in the current language, with {placeholders} filled in. */
export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  return dictionaries[lang][key].replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ''));
}
export const currentLang = (): Lang => lang;
export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
  for (const fn of listeners) fn();
}
/** Re-renders the calling component when the language changes. */
export function useLang(): Lang {
  const [, force] = useState(0);
  useEffect(() => {
    const fn = () => force((n) => n + 1);
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  return lang;
}
export const formatDate = (iso: string | null, withTime = false): string =>
  iso ? new Date(iso).toLocaleString(lang === 'ru' ? 'ru-RU' : 'en-GB', withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }) : '—';
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}
