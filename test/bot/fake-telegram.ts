import crypto from 'node:crypto';
import http from 'node:http';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';

/** A file part of a multipart call. */
export interface UploadedFile {
  field: string;
  name: string;
  bytes: Buffer;
}

/** One Bot API call the bot made. */
export interface ApiCall {
  index: number;
  method: string;
  params: Record<string, unknown>;
  files: UploadedFile[];
  /** The Bot API error this call was answered with (set by `failNext`); undefined when it succeeded. */
  error?: number;
}

/** A Bot API error answer. */
export interface BotApiError {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number };
}

type Json = Record<string, unknown>;

/**
 * A fake Telegram Bot API server on loopback: the methods the bot calls, long polling fed by the
 * test, and file downloads. It records every call so tests can wait for and inspect them.
 */
export class FakeTelegram {
  readonly token: string;
  readonly username = 'facepass_test_bot';
  readonly calls: ApiCall[] = [];
  private readonly server: http.Server;
  private readonly updates: Json[] = [];
  private readonly files = new Map<string, { path: string; bytes: Buffer; size: number }>();
  private readonly events = new EventEmitter();
  private readonly failures: { method: string; chatId: number; error: BotApiError }[] = [];
  private nextUpdateId = 1;
  private nextMessageId = 1000;
  private nextFileId = 1;
  private port = 0;
  /** Files the bot uploaded, by the file_id they were given (as Telegram keeps them per bot). */
  private readonly uploads = new Map<string, UploadedFile>();

  constructor(token: string) {
    this.token = token;
    this.events.setMaxListeners(1000);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, error_code: 500, description: String(error) }));
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.events.emit('update');
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Makes bytes downloadable as a Telegram file; returns its file_id. */
  registerFile(bytes: Buffer, size = bytes.length): string {
    const id = `file-${this.nextFileId++}`;
    this.files.set(id, { path: `photos/${id}.jpg`, bytes, size });
    return id;
  }

  /** Queues an update from a private chat with `userId`. */
  pushUpdate(update: Json): number {
    const update_id = this.nextUpdateId++;
    this.updates.push({ update_id, ...update });
    this.events.emit('update');
    return update_id;
  }

  private user(userId: number, language = 'en'): Json {
    return { id: userId, is_bot: false, first_name: `User${userId}`, language_code: language };
  }

  private message(userId: number, extra: Json, language?: string): Json {
    return {
      message_id: this.nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: { id: userId, type: 'private', first_name: `User${userId}` },
      from: this.user(userId, language),
      ...extra,
    };
  }

  /** A text message (commands get their entity, as Telegram sends them). */
  sendText(userId: number, text: string, language?: string): number {
    const command = /^\/\w+/.exec(text);
    const entities = command ? [{ type: 'bot_command', offset: 0, length: command[0].length }] : undefined;
    return this.pushUpdate({ message: this.message(userId, { text, ...(entities && { entities }) }, language) });
  }

  sendPhoto(userId: number, bytes: Buffer): number {
    const fileId = this.registerFile(bytes);
    const sizes = [
      { file_id: `${fileId}-thumb`, file_unique_id: `${fileId}-t`, width: 90, height: 90 },
      { file_id: fileId, file_unique_id: `${fileId}-u`, width: 720, height: 900, file_size: bytes.length },
    ];
    return this.pushUpdate({ message: this.message(userId, { photo: sizes }) });
  }

  sendDocument(userId: number, bytes: Buffer, mime: string, size = bytes.length): number {
    const fileId = this.registerFile(bytes, size);
    return this.pushUpdate({
      message: this.message(userId, { document: { file_id: fileId, file_unique_id: `${fileId}-u`, file_name: 'selfie', mime_type: mime, file_size: size } }),
    });
  }

  /** Presses an inline button with this callback data under the bot's message `messageId`. */
  press(userId: number, data: string, messageId = 1): number {
    return this.pushUpdate({
      callback_query: {
        id: `cq-${this.nextUpdateId}`,
        from: this.user(userId),
        chat_instance: `ci-${userId}`,
        data,
        message: { message_id: messageId, date: Math.floor(Date.now() / 1000), chat: { id: userId, type: 'private' }, text: 'x' },
      },
    });
  }

  /**
   * Answers the next call of `method` to `chatId` with this error instead (once per call of this):
   * a 429 with `retry_after`, a 403 "bot was blocked by the user", a 400…
   */
  failNext(method: string, chatId: number, error: BotApiError): void {
    this.failures.push({ method, chatId, error });
  }

  /** The index the next call will get: pass it to `waitFor` to see only calls after an action. */
  mark(): number {
    return this.calls.length;
  }

  /** Resolves with the first call at or after `from` that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (call: ApiCall) => boolean, from = 0, timeoutMs = 60_000): Promise<ApiCall> {
    const found = this.calls.slice(from).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onCall = (call: ApiCall): void => {
        if (call.index < from || !predicate(call)) return;
        clearTimeout(timer);
        this.events.off('call', onCall);
        resolve(call);
      };
      const timer = setTimeout(() => {
        this.events.off('call', onCall);
        reject(new Error(`No matching Bot API call within ${timeoutMs} ms; calls since ${from}: ${this.calls.slice(from).map((c) => c.method).join(', ')}`));
      }, timeoutMs);
      this.events.on('call', onCall);
    });
  }

  /** Waits for the bot's next text message (sendMessage or editMessageText) to `chatId` after `from`. */
  async waitForText(chatId: number, pattern: RegExp, from: number, timeoutMs?: number): Promise<ApiCall> {
    return this.waitFor((c) => (c.method === 'sendMessage' || c.method === 'editMessageText') && chatOf(c) === chatId && pattern.test(String(c.params.text)), from, timeoutMs);
  }

  /** Calls to one chat after `from`. */
  callsTo(chatId: number, from = 0): ApiCall[] {
    return this.calls.slice(from).filter((c) => chatOf(c) === chatId);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const filePrefix = `/file/bot${this.token}/`;
    if (req.method === 'GET' && url.pathname.startsWith(filePrefix)) {
      const path = url.pathname.slice(filePrefix.length);
      const file = [...this.files.values()].find((f) => f.path === path);
      res.writeHead(file ? 200 : 404);
      res.end(file?.bytes);
      return;
    }
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
    if (!match || match[1] !== this.token) return this.reply(res, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = match[2]!;
    const { params, files } = await parseBody(req);
    if (method === 'getUpdates') return this.getUpdates(req, res, params);
    const call: ApiCall = { index: this.calls.length, method, params, files };
    const failure = this.failures.findIndex((f) => f.method === method && f.chatId === chatOf(call));
    const error = failure === -1 ? undefined : this.failures.splice(failure, 1)[0]!.error;
    const unknown = error ? undefined : this.unknownFileId(call);
    if (unknown) Object.assign(call, { error: 400 });
    if (error) call.error = error.error_code;
    this.calls.push(call);
    this.events.emit('call', call);
    if (error) return this.reply(res, { ok: false, ...error });
    if (unknown) return this.reply(res, { ok: false, error_code: 400, description: 'Bad Request: wrong file identifier/HTTP URL specified' });
    return this.reply(res, { ok: true, result: this.resultOf(call) });
  }

  /** The file a sent photo or document is (by `attach://` part or by file_id string): a fresh file_id for an upload. */
  private fileOf(call: ApiCall, ref: string): string {
    const value = String(call.params[ref] ?? ref);
    const part = call.files.find((f) => f.field === ref || `attach://${f.field}` === value);
    if (!part) return value;
    // Telegram's file_ids are opaque base64url strings that start with the file type.
    const id = `${ref === 'document' ? 'BQACAgIAAxkBAAI' : 'AgACAgIAAxkBAAI'}${crypto.randomBytes(40).toString('base64url')}`;
    this.uploads.set(id, part);
    return id;
  }

  /** A photo's sizes as Telegram answers them: a thumbnail (an id of its own), then the full size. */
  private photoSizes(fileId: string): Json[] {
    const thumb = `${fileId.slice(0, 15)}thumb${fileId.slice(20)}`;
    const upload = this.uploads.get(fileId);
    if (upload) this.uploads.set(thumb, upload);
    return [
      { file_id: thumb, file_unique_id: uniqueIdOf(thumb), width: 90, height: 67, file_size: 1000 },
      { file_id: fileId, file_unique_id: uniqueIdOf(fileId), width: 1280, height: 960, file_size: upload?.bytes.length ?? 0 },
    ];
  }

  /** A file_id string the bot sent that this bot never received (Telegram answers 400). */
  private unknownFileId(call: ApiCall): string | undefined {
    const refs =
      call.method === 'sendPhoto' ? [call.params.photo] : call.method === 'sendDocument' ? [call.params.document] : call.method === 'sendMediaGroup' ? (call.params.media as { media: string }[]).map((m) => m.media) : [];
    return refs.find((r): r is string => typeof r === 'string' && !r.startsWith('attach://') && !this.uploads.has(r) && !call.files.some((f) => f.field === r));
  }

  /** The upload a file_id refers to (its bytes and file name), or undefined. */
  uploadOf(fileId: string | undefined): UploadedFile | undefined {
    return fileId === undefined ? undefined : this.uploads.get(fileId);
  }

  /** Forgets every uploaded file_id, as for a file_id of another bot: sending one then answers 400. */
  forgetUploads(): void {
    this.uploads.clear();
  }

  private resultOf(call: ApiCall): unknown {
    const chat = { id: chatOf(call) ?? 0, type: 'private' };
    const msg = (extra: Json = {}): Json => ({ message_id: this.nextMessageId++, date: Math.floor(Date.now() / 1000), chat, ...extra });
    switch (call.method) {
      case 'getMe':
        return { id: Number(this.token.split(':')[0]), is_bot: true, first_name: 'FacePass', username: this.username, can_join_groups: false, can_read_all_group_messages: false, supports_inline_queries: false };
      case 'getFile': {
        const file = this.files.get(String(call.params.file_id));
        return file ? { file_id: call.params.file_id, file_unique_id: `${String(call.params.file_id)}-u`, file_size: file.size, file_path: file.path } : undefined;
      }
      case 'sendMessage':
        return msg({ text: call.params.text });
      case 'editMessageText':
      case 'editMessageReplyMarkup':
        return msg({ text: call.params.text ?? 'x' });
      case 'sendPhoto':
        return msg({ photo: this.photoSizes(this.fileOf(call, 'photo')) });
      case 'sendDocument': {
        const id = this.fileOf(call, 'document');
        return msg({ document: { file_id: id, file_unique_id: uniqueIdOf(id), file_name: this.uploads.get(id)?.name } });
      }
      case 'sendMediaGroup':
        return (call.params.media as { media: string }[]).map((m) => msg({ photo: this.photoSizes(this.fileOf(call, m.media)) }));
      default:
        return true;
    }
  }

  private getUpdates(req: http.IncomingMessage, res: http.ServerResponse, params: Record<string, unknown>): void {
    const offset = Number(params.offset ?? 0);
    // As Telegram does: asking from `offset` confirms every earlier update, which is then forgotten,
    // so a restarted bot (starting again from offset 0) does not get the old updates a second time.
    if (offset > 0) {
      const kept = this.updates.findIndex((u) => Number(u.update_id) >= offset);
      this.updates.splice(0, kept === -1 ? this.updates.length : kept);
    }
    // Long polling, capped at 1 s so a stopped bot's last request ends quickly.
    const waitMs = Math.min(Number(params.timeout ?? 0), 1) * 1000;
    const pending = (): Json[] => this.updates.filter((u) => Number(u.update_id) >= offset).slice(0, Number(params.limit ?? 100));
    const answer = (): void => {
      clearTimeout(timer);
      this.events.off('update', onUpdate);
      if (!res.writableEnded && !res.destroyed) this.reply(res, { ok: true, result: pending() });
    };
    const onUpdate = (): void => answer();
    const timer = setTimeout(answer, waitMs);
    if (pending().length > 0) return answer();
    this.events.on('update', onUpdate);
    req.on('close', () => {
      clearTimeout(timer);
      this.events.off('update', onUpdate);
    });
  }

  private reply(res: http.ServerResponse, body: Json): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

/** The chat a call addresses (chat_id), as a number. */
export function chatOf(call: ApiCall): number | undefined {
  const id = call.params.chat_id;
  return id === undefined ? undefined : Number(id);
}

/**
 * The items of a sendMediaGroup call, in album order: each with its uploaded file (grammY sends
 * `attach://<field>` references in `media` and the files as multipart parts) and caption.
 */
export function mediaOf(call: ApiCall): { file: UploadedFile | undefined; fileId: string | undefined; caption: string | undefined }[] {
  const media = (call.params.media ?? []) as { type: string; media: string; caption?: string }[];
  return media.map((m) => {
    const file = call.files.find((f) => `attach://${f.field}` === m.media);
    return { file, fileId: file ? undefined : m.media, caption: m.caption };
  });
}

/** A stable short id per file, as Telegram's file_unique_id. */
const uniqueIdOf = (fileId: string): string => `AQAD${crypto.createHash('sha256').update(fileId).digest('base64url').slice(0, 12)}`;

/** The callback_data of every inline button of a call's reply_markup. */
export function buttonsOf(call: ApiCall): string[] {
  const markup = call.params.reply_markup as { inline_keyboard?: { callback_data?: string }[][] } | undefined;
  return (markup?.inline_keyboard ?? []).flat().map((b) => b.callback_data ?? '');
}

async function parseBody(req: http.IncomingMessage): Promise<{ params: Record<string, unknown>; files: UploadedFile[] }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (body.length === 0) return { params: {}, files: [] };
  if (type.startsWith('application/json')) return { params: JSON.parse(body.toString()) as Record<string, unknown>, files: [] };
  // grammY sends multipart when a call carries files; objects travel as JSON strings.
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
  if (!boundary) throw new Error(`Unsupported content type ${type}`);
  const params: Record<string, unknown> = {};
  const files: UploadedFile[] = [];
  for (const part of splitMultipart(body, `--${boundary[1] ?? boundary[2]}`)) {
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, headerEnd).toString();
    const content = part.subarray(headerEnd + 4);
    const field = /;\s*name="([^"]*)"/.exec(headers)?.[1] ?? '';
    // grammY writes filename=… unquoted.
    const filename = /filename="?([^"\r\n;]*)"?/.exec(headers)?.[1];
    if (filename !== undefined) files.push({ field, name: filename, bytes: content });
    else {
      const value = content.toString();
      params[field] = /^[[{]/.test(value) ? (JSON.parse(value) as unknown) : value;
    }
  }
  return { params, files };
}

/** The parts of a multipart body, without their delimiting CRLFs. */
function splitMultipart(body: Buffer, delimiter: string): Buffer[] {
  const parts: Buffer[] = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const from = start + delimiter.length;
    if (body.subarray(from, from + 2).toString() === '--') break;
    const next = body.indexOf(`\r\n${delimiter}`, from);
    if (next === -1) break;
    parts.push(body.subarray(from + 2, next));
    start = next + 2;
  }
  return parts;
}
