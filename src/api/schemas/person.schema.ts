import Type from 'typebox';

export const Box = Type.Object({ x: Type.Number(), y: Type.Number(), width: Type.Number(), height: Type.Number() }, { description: 'Face box in original pixels' });
/** A person (face cluster) of an event. */
export const PersonResponse = Type.Object({
  id: Type.Integer(),
  event_id: Type.Integer(),
  hidden: Type.Boolean({ description: 'A hidden person is never found by any search or live delivery in this event' }),
  face_count: Type.Integer({ minimum: 0 }),
  photo_count: Type.Integer({ minimum: 0 }),
  representative: Type.Union(
    [
      Type.Object({
        face_row: Type.Integer({ description: 'The face (row id) that shows the person best' }),
        photo_id: Type.Integer(),
        box: Box,
        thumbnail_url: Type.Union([Type.String(), Type.Null()], { description: "The photo's thumbnail; crop it to `box` scaled to the thumbnail" }),
        preview_url: Type.Union([Type.String(), Type.Null()]),
      }),
      Type.Null(),
    ],
    { description: 'Null only for a hidden person whose photos were all deleted' },
  ),
});
