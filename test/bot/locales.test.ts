import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createI18n } from '../../src/bot/i18n.js';

const i18n = createI18n();
const keysOf = (language: string): string[] =>
  fs
    .readFileSync(new URL(`../../src/bot/locales/${language}.ftl`, import.meta.url), 'utf8')
    .split('\n')
    .flatMap((line) => /^([a-z][\w-]*) =/.exec(line)?.[1] ?? [])
    .sort();

describe('bot wording', () => {
  it('Russian numbers agree with their noun (Fluent plural selectors)', () => {
    const faces = (count: number): string => i18n.t('ru', 'multiple-faces', { count });
    const expected: [number, string][] = [
      [1, '1 лицо'],
      [2, '2 лица'],
      [5, '5 лиц'],
      [21, '21 лицо'],
      [22, '22 лица'],
      [25, '25 лиц'],
      [111, '111 лиц'],
    ];
    for (const [count, words] of expected) assert.equal(faces(count), `На фото ${words}. Пришлите селфи, где только вы.`);
    const wait = (seconds: number): string => i18n.t('ru', 'rate-limited', { seconds });
    assert.match(wait(1), /через 1 секунду\.$/);
    assert.match(wait(22), /через 22 секунды\.$/);
    assert.match(wait(25), /через 25 секунд\.$/);
    assert.match(wait(111), /через 111 секунд\.$/);
  });

  it('English numbers agree too', () => {
    assert.equal(i18n.t('en', 'multiple-faces', { count: 1 }), 'I see 1 face. Send a selfie with just you in it.');
    assert.equal(i18n.t('en', 'multiple-faces', { count: 6 }), 'I see 6 faces. Send a selfie with just you in it.');
    assert.match(i18n.t('en', 'rate-limited', { seconds: 1 }), /in 1 second\.$/);
    assert.match(i18n.t('en', 'rate-limited', { seconds: 21 }), /in 21 seconds\.$/);
  });

  it('a page of one photo does not read as a range', () => {
    assert.match(i18n.t('en', 'results-page', { count: 1, from: 3, to: 3, total: 3 }), /^Photo 3 of 3\. Tap/);
    assert.match(i18n.t('en', 'results-page', { count: 2, from: 1, to: 2, total: 3 }), /^Photos 1–2 of 3\. Tap/);
    assert.match(i18n.t('ru', 'results-page', { count: 1, from: 21, to: 21, total: 21 }), /^Фото 21 из 21\. Нажмите/);
    assert.match(i18n.t('ru', 'results-page', { count: 10, from: 11, to: 20, total: 21 }), /^Фото 11–20 из 21\. Нажмите/);
  });

  it('both languages have the same messages', () => {
    const en = keysOf('en');
    assert.ok(en.length > 40);
    assert.deepEqual(keysOf('ru'), en);
  });
});
