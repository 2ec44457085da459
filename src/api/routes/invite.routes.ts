import type { FastifyInstance, FastifyReply, onRequestAsyncHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import QRCode from 'qrcode';
import type { EventService } from '../../services/event.service.js';
import { encodeEventPayload } from '../../services/participant.service.js';
import { ConflictError } from '../../errors.js';
import { photographerOf } from '../plugins/auth.js';
import { errors, IdParams } from '../schemas/common.schema.js';

const InviteResponse = Type.Object({
  deep_link: Type.String({ description: 'https://t.me/<bot>?start=<event UUID without dashes>' }),
  qr_png_base64: Type.String({ description: 'QR code of the deep link, PNG, base64' }),
});

/** The event's invite for participants: a Telegram deep link and its QR code (owner only). */
export async function inviteRoutes(
  app: FastifyInstance,
  deps: { events: EventService; requirePhotographer: onRequestAsyncHookHandler; botUsername: string | undefined },
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    '/events/:event_id/invite',
    {
      onRequest: deps.requirePhotographer,
      schema: {
        tags: ['events'],
        security: [{ bearerAuth: [] }],
        summary: "The event's Telegram deep link and QR code",
        description: 'JSON by default; the bare PNG with `Accept: image/png`. 409 when the bot username is not configured.',
        params: IdParams,
        response: { 200: InviteResponse, ...errors(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const event = await deps.events.get(photographerOf(request).id, request.params.event_id);
      if (!deps.botUsername) {
        throw new ConflictError('The Telegram bot username is unknown: set TELEGRAM_BOT_USERNAME, or TELEGRAM_BOT_TOKEN so it is asked from Telegram');
      }
      const deep_link = `https://t.me/${deps.botUsername}?start=${encodeEventPayload(event.event_uuid)}`;
      const png = await QRCode.toBuffer(deep_link, { type: 'png', width: 512, margin: 2, errorCorrectionLevel: 'M' });
      // The typed reply only knows the JSON shape; a Buffer bypasses serialization anyway.
      if (/\bimage\/png\b/.test(request.headers.accept ?? '')) return (reply as FastifyReply).type('image/png').send(png);
      return { deep_link, qr_png_base64: png.toString('base64') };
    },
  );
}
