import type { Migration } from 'kysely';
import * as initial from './20261125T0001-initial.js';
import * as participantEmbeddings from './20261125T1800-participant-embeddings.js';
import * as eventVectorIndexes from './20261126T0900-event-vector-indexes.js';
import * as faceQualityCohorts from './20261201T0900-face-quality-cohorts.js';
import * as eventPersons from './20261202T1100-event-persons.js';
import * as partitionFaceEmbeddings from './20261202T1300-partition-face-embeddings.js';
import * as halfPrecisionEmbeddings from './20261203T0900-half-precision-embeddings.js';

/** db_vector migrations, applied in key order. */
export const vectorMigrations: Record<string, Migration> = {
  '20261125T0001-initial': initial,
  '20261125T1800-participant-embeddings': participantEmbeddings,
  '20261126T0900-event-vector-indexes': eventVectorIndexes,
  '20261201T0900-face-quality-cohorts': faceQualityCohorts,
  '20261202T1100-event-persons': eventPersons,
  '20261202T1300-partition-face-embeddings': partitionFaceEmbeddings,
  '20261203T0900-half-precision-embeddings': halfPrecisionEmbeddings,
};
