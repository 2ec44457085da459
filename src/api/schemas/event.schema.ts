import Type, { type Static } from 'typebox';
import type { Event } from '../../repositories/event.repository.js';
import type { PublicEvent } from '../../services/event.service.js';
import { DateTime, NullableDateTime, NullableInputDateTime, NullableString } from './common.schema.js';

const uuid = Type.String({ format: 'uuid', description: 'Event UUID; participants know the event only by this' });
const name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });

/** The seed's event, field for field. */
export const EventResponse = Type.Object({
  id: Type.Integer(),
  event_uuid: uuid,
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  location: Type.Union([Type.String(), Type.Null()]),
  event_date: NullableDateTime,
  is_active: Type.Boolean(),
  created_at: DateTime,
  updated_at: NullableDateTime,
});

/** What participants see: no internal id, no owner. */
export const PublicEventResponse = Type.Object({
  event_uuid: uuid,
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  location: Type.Union([Type.String(), Type.Null()]),
  event_date: NullableDateTime,
  is_active: Type.Boolean(),
});

export const CreateEventBody = Type.Object(
  {
    event_uuid: Type.Optional(uuid),
    name,
    description: Type.Optional(NullableString(5000)),
    location: Type.Optional(NullableString(500)),
    event_date: Type.Optional(NullableInputDateTime),
  },
  { additionalProperties: false },
);

export const UpdateEventBody = Type.Object(
  {
    name: Type.Optional(name),
    description: Type.Optional(NullableString(5000)),
    location: Type.Optional(NullableString(500)),
    event_date: Type.Optional(NullableInputDateTime),
    is_active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const UuidParams = Type.Object({ event_uuid: uuid });

export const DeleteEventResponse = Type.Object({
  id: Type.Integer(),
  status: Type.Literal('deleting'),
  task_id: Type.String({ description: 'Id of the delete-event job that removes photos, embeddings and objects' }),
});

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** Domain event → API body (dates as ISO 8601 strings). */
export function toEventResponse(e: Event): Static<typeof EventResponse> {
  return { ...e, event_date: iso(e.event_date), created_at: e.created_at.toISOString(), updated_at: iso(e.updated_at) };
}

export function toPublicEventResponse(e: PublicEvent): Static<typeof PublicEventResponse> {
  return { ...e, event_date: iso(e.event_date) };
}
