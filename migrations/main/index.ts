import type { Migration } from 'kysely';
import * as initial from './20261125T0001-initial.js';
import * as botDeliveries from './20261125T1800-bot-deliveries.js';
import * as liveDeliveryBatches from './20261126T1000-live-delivery-batches.js';
import * as liveDeliveryClaims from './20261127T1000-live-delivery-claims.js';
import * as photoSweep from './20261201T2300-photo-sweep.js';
import * as consoleAuth from './20261201T2300-console-auth.js';
import * as photoModelPack from './20261202T0300-photo-model-pack.js';
import * as livePhotos from './20261202T1400-live-photos.js';
import * as ftpCredentials from './20261202T1200-ftp-credentials.js';

/** db_main migrations, applied in key order. Listed statically so they run the same under tsx and compiled. */
export const mainMigrations: Record<string, Migration> = {
  '20261125T0001-initial': initial,
  '20261125T1800-bot-deliveries': botDeliveries,
  '20261126T1000-live-delivery-batches': liveDeliveryBatches,
  '20261127T1000-live-delivery-claims': liveDeliveryClaims,
  '20261201T2300-photo-sweep': photoSweep,
  '20261201T2300-console-auth': consoleAuth,
  '20261202T0300-photo-model-pack': photoModelPack,
  '20261202T1400-live-photos': livePhotos,
  '20261202T1200-ftp-credentials': ftpCredentials,
};
