import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import type { ParticipantService } from '../../services/participant.service.js';

/** `/stop`: no more live delivery, and the stored selfie embeddings are deleted. */
export function createStopFeature(deps: { participants: ParticipantService }): Composer<BotContext> {
  const feature = new Composer<BotContext>();
  feature.command('stop', async (ctx) => {
    if (ctx.participant) await deps.participants.unsubscribe(ctx.participant.id);
    return ctx.reply(ctx.t('live-stopped'));
  });
  return feature;
}
