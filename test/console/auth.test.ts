import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { MAX_FAILED_LOGINS } from '../../src/services/account.service.js';
import { LOGIN_ATTEMPTS_PER_ADDRESS } from '../../src/api/routes/account.routes.js';

type Json = Record<string, unknown>;
let address = 0;
/** A fresh client address per sign-in flow, so the per-address limit of one test does not leak into another. */
const nextAddress = () => `10.0.${Math.floor(++address / 250)}.${(address % 250) + 1}`;

describe('console sign-in, sessions, CSRF, lockout and API keys', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  let counter = 0;
  /** A photographer with a console password. */
  const account = async () => {
    const email = `console${++counter}-${Date.now()}@example.com`;
    const p = await t.photographer(email);
    await t.deps.services.accounts.setPassword(email, 'correct horse battery');
    return { ...p, email, password: 'correct horse battery' };
  };
  const login = (email: string, password: string, remoteAddress = nextAddress()) =>
    t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, remoteAddress });
  /** Signs in and returns the cookie header and CSRF token. */
  const signIn = async (email: string, password: string) => {
    const res = await login(email, password);
    assert.equal(res.statusCode, 200, res.body);
    const cookie = /^(facepass_session=[^;]+)/.exec(String(res.headers['set-cookie']))?.[1];
    assert.ok(cookie);
    return { cookie, csrf: res.json<{ csrf_token: string }>().csrf_token };
  };

  it('signs in with the right password and sets an httpOnly SameSite=Strict cookie', async () => {
    const a = await account();
    const res = await login(a.email.toUpperCase(), a.password);
    assert.equal(res.statusCode, 200);
    const body = res.json<{ photographer: Json; csrf_token: string }>();
    assert.equal(body.photographer.email, a.email);
    assert.ok(body.csrf_token.length >= 32);
    const setCookie = String(res.headers['set-cookie']);
    assert.match(setCookie, /^facepass_session=[\w-]{40,}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
    // Over HTTPS (as a proxy reports it when trusted, or here: COOKIE_SECURE) the cookie is Secure.
    const secure = await createTestApp({ env: { COOKIE_SECURE: 'true' } });
    try {
      await secure.photographer('s@example.com');
      await secure.deps.services.accounts.setPassword('s@example.com', 'correct horse battery');
      const r = await secure.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 's@example.com', password: 'correct horse battery' } });
      assert.match(String(r.headers['set-cookie']), /; Secure$/);
    } finally {
      await secure.close();
    }
  });

  it('answers a wrong password and an unknown email alike, and never says which', async () => {
    const a = await account();
    const wrong = await login(a.email, 'not the password');
    const unknown = await login('nobody@example.com', 'not the password');
    assert.equal(wrong.statusCode, 401);
    assert.equal(unknown.statusCode, 401);
    assert.equal(wrong.json<Json>().message, unknown.json<Json>().message);
    const noPassword = await t.photographer();
    assert.equal((await login(`x${noPassword.id}@example.com`, 'anything at all')).statusCode, 401);
  });

  it(`locks an account after ${MAX_FAILED_LOGINS} bad passwords, even against the right one; other accounts unaffected`, async () => {
    const a = await account();
    const b = await account();
    for (let i = 1; i < MAX_FAILED_LOGINS; i++) assert.equal((await login(a.email, `wrong ${i}`)).statusCode, 401);
    // Each attempt from a different address: the account lock does not depend on the address.
    const locking = await login(a.email, 'wrong last');
    assert.equal(locking.statusCode, 429);
    assert.equal(locking.json<Json>().error, 'too_many_attempts');
    const right = await login(a.email, a.password);
    assert.equal(right.statusCode, 429, 'the right password is refused while locked');
    assert.ok((right.json<{ details: { retry_after_seconds: number } }>().details.retry_after_seconds) > 0);
    assert.equal((await login(b.email, b.password)).statusCode, 200);
    // A good sign-in before the limit resets the count.
    const c = await account();
    for (let i = 1; i < MAX_FAILED_LOGINS; i++) await login(c.email, `wrong ${i}`);
    assert.equal((await login(c.email, c.password)).statusCode, 200);
    assert.equal((await login(c.email, 'wrong again')).statusCode, 401, 'count restarted after success');
  });

  it(`limits one address to ${LOGIN_ATTEMPTS_PER_ADDRESS} attempts across accounts`, async () => {
    const ip = nextAddress();
    const a = await account();
    for (let i = 0; i < LOGIN_ATTEMPTS_PER_ADDRESS; i++) {
      // Different unknown accounts: no account lock is involved, only the address.
      assert.equal((await login(`guess${i}@example.com`, 'password guess', ip)).statusCode, 401);
    }
    const blocked = await login(a.email, a.password, ip);
    assert.equal(blocked.statusCode, 429);
    assert.equal((await login(a.email, a.password, nextAddress())).statusCode, 200, 'another address still signs in');
  });

  it('refuses the API without credentials, admits the session cookie, and demands the CSRF token on unsafe methods', async () => {
    const a = await account();
    const { cookie, csrf } = await signIn(a.email, a.password);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/' })).statusCode, 401);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/', headers: { cookie: 'facepass_session=forged-token-of-some-length-here' } })).statusCode, 401);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/', headers: { cookie: 'facepass_session=%E0%A4%A' } })).statusCode, 401, 'malformed cookie');
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/', headers: { cookie } })).statusCode, 200);

    const create = (headers: Record<string, string>) => t.app.inject({ method: 'POST', url: '/api/v1/events/', headers, payload: { name: 'Console event' } });
    const noCsrf = await create({ cookie });
    assert.equal(noCsrf.statusCode, 403);
    assert.equal(noCsrf.json<Json>().error, 'forbidden');
    assert.equal((await create({ cookie, 'x-csrf-token': 'x'.repeat(csrf.length) })).statusCode, 403);
    const other = await signIn(a.email, a.password);
    assert.equal((await create({ cookie, 'x-csrf-token': other.csrf })).statusCode, 403, "another session's token is refused");
    const ok = await create({ cookie, 'x-csrf-token': csrf });
    assert.equal(ok.statusCode, 201);
    const id = ok.json<{ id: number }>().id;
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/events/${id}`, headers: { cookie } })).statusCode, 403);
    // The session answers what it is, for the page to pick the token up after a reload.
    const session = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie } });
    assert.equal(session.json<{ csrf_token: string }>().csrf_token, csrf);
  });

  it("answers 404 for another photographer's event through the session, as for a missing one", async () => {
    const a = await account();
    const b = await account();
    const event = await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: a.headers, payload: { name: 'Private' } });
    const id = event.json<{ id: number }>().id;
    const { cookie, csrf } = await signIn(b.email, b.password);
    const headers = { cookie, 'x-csrf-token': csrf };
    for (const [method, url] of [
      ['GET', `/api/v1/events/${id}`],
      ['PATCH', `/api/v1/events/${id}`],
      ['DELETE', `/api/v1/events/${id}`],
      ['GET', `/api/v1/faces/event/${id}`],
      ['GET', `/api/v1/events/${id}/progress`],
      ['GET', `/api/v1/events/${id}/insights`],
    ] as const) {
      const res = await t.app.inject({ method, url, headers, ...(method === 'PATCH' && { payload: { name: 'Stolen' } }) });
      assert.equal(res.statusCode, 404, `${method} ${url}`);
    }
    const missing = await t.app.inject({ method: 'GET', url: '/api/v1/events/2147483000', headers });
    assert.equal(missing.statusCode, 404);
  });

  it('manages named API keys with a session only: created once, listed with last use, revoked', async () => {
    const a = await account();
    const { cookie, csrf } = await signIn(a.email, a.password);
    const headers = { cookie, 'x-csrf-token': csrf };
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/account/keys', headers, payload: { name: 'Lightroom export' } });
    assert.equal(created.statusCode, 201);
    const key = created.json<{ id: number; key: string; name: string; prefix: string }>();
    assert.equal(key.name, 'Lightroom export');
    assert.ok(key.key.startsWith(key.prefix));

    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/', headers: { authorization: `Bearer ${key.key}` } })).statusCode, 200);
    const list = (await t.app.inject({ method: 'GET', url: '/api/v1/account/keys', headers: { cookie } })).json<Json[]>();
    const listed = list.find((k) => k.id === key.id);
    assert.ok(listed);
    assert.equal(listed.key, undefined, 'the key itself is never listed');
    assert.ok(listed.last_used_at, 'its use was recorded');
    assert.equal(list.length, 2, 'the first key from creation, and the new one');

    // Keys cannot manage keys, and CSRF applies here too.
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/account/keys', headers: { authorization: `Bearer ${key.key}` } })).statusCode, 401);
    assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/account/keys', headers: { cookie }, payload: { name: 'x' } })).statusCode, 403);

    const b = await account();
    const bSession = await signIn(b.email, b.password);
    const stolen = await t.app.inject({ method: 'DELETE', url: `/api/v1/account/keys/${key.id}`, headers: { cookie: bSession.cookie, 'x-csrf-token': bSession.csrf } });
    assert.equal(stolen.statusCode, 404, "another photographer's key is not found");
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/account/keys/${key.id}`, headers })).statusCode, 204);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/', headers: { authorization: `Bearer ${key.key}` } })).statusCode, 401);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/account/keys/${key.id}`, headers })).statusCode, 404);
  });

  it('signs out: the session stops working and the cookie is cleared', async () => {
    const a = await account();
    const { cookie, csrf } = await signIn(a.email, a.password);
    assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie } })).statusCode, 403, 'logout needs the CSRF token');
    const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie, 'x-csrf-token': csrf } });
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), /^facepass_session=; Max-Age=0/);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/', headers: { cookie } })).statusCode, 401);
  });

  it('ends every session when the password changes, and takes invite links once', async () => {
    const a = await account();
    const { cookie } = await signIn(a.email, a.password);
    await t.deps.services.accounts.setPassword(a.email, 'a brand new password');
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/', headers: { cookie } })).statusCode, 401);

    const p = await t.photographer();
    const invite = await t.deps.services.accounts.createInvite(p.id);
    const token = invite.url.split('#')[1];
    assert.ok(token);
    const short = await t.app.inject({ method: 'POST', url: '/api/v1/auth/invite', payload: { token, password: 'short' }, remoteAddress: nextAddress() });
    assert.equal(short.statusCode, 400);
    const accepted = await t.app.inject({ method: 'POST', url: '/api/v1/auth/invite', payload: { token, password: 'my invited password' }, remoteAddress: nextAddress() });
    assert.equal(accepted.statusCode, 200, accepted.body);
    assert.match(String(accepted.headers['set-cookie']), /^facepass_session=/);
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/auth/invite', payload: { token, password: 'another password!' }, remoteAddress: nextAddress() });
    assert.equal(again.statusCode, 404);
  });
});
