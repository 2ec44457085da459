import type { ApiKeyTable, PhotographerInviteTable, PhotographerTable, SessionTable } from './main/photographer.table.js';
import type { EventTable } from './main/event.table.js';
import type { FaceTable } from './main/face.table.js';
import type { ParticipantEventTable, ParticipantTable } from './main/participant.table.js';
import type { SearchAuditTable } from './main/search-audit.table.js';
import type { FtpCredentialTable } from './main/ftp-credential.table.js';
import type { FaceEmbeddingTable } from './vector/face-embedding.table.js';
import type { ParticipantDeliveryTable } from './main/participant-delivery.table.js';
import type { ParticipantEmbeddingTable } from './vector/participant-embedding.table.js';
import type { EventFaceCohortTable, EventVectorIndexTable } from './vector/event-vector-index.table.js';
import type { EventPersonFaceTable, EventPersonStateTable, EventPersonTable } from './vector/event-person.table.js';

export * from './main/photographer.table.js';
export * from './main/event.table.js';
export * from './main/face.table.js';
export * from './main/participant.table.js';
export * from './main/search-audit.table.js';
export * from './main/ftp-credential.table.js';
export * from './vector/face-embedding.table.js';
export * from './main/participant-delivery.table.js';
export * from './vector/participant-embedding.table.js';
export * from './vector/event-vector-index.table.js';
export * from './vector/event-person.table.js';

/** Tables of db_main. */
export interface MainDatabase {
  photographers: PhotographerTable;
  api_keys: ApiKeyTable;
  sessions: SessionTable;
  photographer_invites: PhotographerInviteTable;
  events: EventTable;
  faces: FaceTable;
  participants: ParticipantTable;
  participant_events: ParticipantEventTable;
  search_audit: SearchAuditTable;
  participant_deliveries: ParticipantDeliveryTable;
  ftp_credentials: FtpCredentialTable;
}

/** Tables of db_vector. */
export interface VectorDatabase {
  face_embeddings: FaceEmbeddingTable;
  participant_embeddings: ParticipantEmbeddingTable;
  event_vector_indexes: EventVectorIndexTable;
  event_face_cohorts: EventFaceCohortTable;
  event_persons: EventPersonTable;
  event_person_faces: EventPersonFaceTable;
  event_person_state: EventPersonStateTable;
}
