/** Inline-button payloads (≤ 64 bytes) and their parsers; anything else is ignored as malformed. */
export const callbackData = {
  consent: (answer: 'yes' | 'no') => `consent:${answer}`,
  more: () => 'more',
  original: (faceId: number) => `orig:${faceId}`,
  live: () => 'live:on',
  event: (eventId: number) => `event:${eventId}`,
  forget: (answer: 'yes' | 'hide' | 'no') => `forget:${answer}`,
  language: (language: string) => `lang:${language}`,
};

/** Matchers for `bot.callbackQuery`; numeric ids are captured in `ctx.match[1]`. */
export const callbackPattern = {
  consent: /^consent:(yes|no)$/,
  more: /^more$/,
  original: /^orig:(\d{1,10})$/,
  live: /^live:on$/,
  event: /^event:(\d{1,10})$/,
  forget: /^forget:(yes|hide|no)$/,
  language: /^lang:(en|ru)$/,
};
