/**
 * End-to-end selfie search through the API, the search queue and a worker, on real services.
 *
 *   npm run bench:search-e2e -- [--photos 10000] [--searches 30]
 *
 * Loads an event of `photos` processed photos (3 faces each: synthetic embeddings, plus the real
 * embedding of one dlib "johns" person in 20 photos), then searches with a 12-megapixel selfie of
 * that person and prints p50/p99 of the API's query time, split into queue, decode+detect+embed and
 * DB, and whether the 20 photos were found. Uses fresh databases and an S3 server on loopback.
 */
import sharp from 'sharp';
import { toStorageVector } from '../src/vision/index.js';
import { storedLiteral } from '../src/repositories/stored-vector.js';
import { createTestApp } from '../test/helpers/app.js';
import { startPipeline } from '../test/helpers/pipeline.js';
import { johns } from '../test/helpers/dev-event.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
};
const PHOTOS = opt('photos', 10_000);
const SEARCHES = opt('searches', 30);
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

let seed = 7;
const rand = (): number => ((seed = (seed * 1664525 + 1013904223) >>> 0), seed / 2 ** 32);
const gauss = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const unit = (v: number[]): number[] => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

async function main(): Promise<void> {
  // Fresh databases, S3 on loopback, the API listening, and a real worker with the real engine.
  const t = await createTestApp();
  const pipeline = await startPipeline(t, { workers: true });
  const { deps } = t;
  const engine = pipeline.engine!;
  const base = pipeline.api;
  try {
    const { photographer, apiKey } = await deps.services.photographers.create({ email: 'bench@example.com' });
    const event = await deps.services.events.create(photographer.id, { name: 'Bench event' });

    const [person] = await johns();
    const reference = await engine.analyze(await sharp(person!.files[0]!).toBuffer(), { mode: 'selfie' });
    const personVector = Array.from(reference.faces[0]!.embedding);
    const targets = new Set<number>();
    console.log(`loading ${PHOTOS} photos × 3 faces…`);
    const t0 = performance.now();
    for (let start = 0; start < PHOTOS; start += 500) {
      const n = Math.min(500, PHOTOS - start);
      const rows = await deps.dbs.main
        .insertInto('faces')
        .values(Array.from({ length: n }, (_, i) => ({ event_id: event.id, image_url: `events/${event.id}/${start + i}.jpg`, s3_key: `events/${event.id}/${start + i}.jpg`, status: 'done' as const, face_count: 3, confidence: 0.9 })))
        .returning('id')
        .execute();
      const values = rows.flatMap((row, i) => {
        const isTarget = (start + i) % Math.floor(PHOTOS / 20) === 0 && targets.size < 20;
        if (isTarget) targets.add(row.id);
        return [0, 1, 2].map((f) => {
          const v = isTarget && f === 0 ? unit(personVector.map((x) => x + gauss() * 0.01)) : unit(Array.from({ length: personVector.length }, gauss));
          return { face_id: row.id, event_id: event.id, embedding: storedLiteral(engine.packId, toStorageVector(Float32Array.from(v))), bbox_x: 0, bbox_y: 0, bbox_width: 100, bbox_height: 100, detection_score: 0.9, model_pack: engine.packId };
        });
      });
      await deps.dbs.vector.insertInto('face_embeddings').values(values).execute();
    }
    console.log(`  loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // What the index-event-vectors job does once an event passes VECTOR_INDEX_MIN_FACES.
    if (PHOTOS * 3 >= deps.config.search.indexMinFaces) {
      const t1 = performance.now();
      await deps.repositories.vectorIndexes.build({ eventId: event.id, modelPack: engine.packId, dimensions: engine.dimensions });
      console.log(`  event HNSW index built in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    }

    // A 12 MP selfie: another photo of the same person, enlarged into a 4000×3000 frame.
    const face = await sharp(person!.files[5]!).resize(1800, 1800).toBuffer();
    const selfie = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#b4a89c' } })
      .composite([{ input: face, left: 1100, top: 600 }])
      .jpeg({ quality: 90 })
      .toBuffer();
    console.log(`selfie: 4000×3000 JPEG, ${(selfie.length / 1e6).toFixed(1)} MB`);

    const totals: number[] = [];
    const split = { queue_ms: [] as number[], decode_detect_embed_ms: [] as number[], db_ms: [] as number[] };
    let found = 0;
    for (let i = 0; i <= SEARCHES; i++) {
      const form = new FormData();
      form.append('event_id', String(event.id));
      form.append('limit', '100');
      form.append('file', new Blob([selfie]), 'selfie.jpg');
      const res = await fetch(`${base}/faces/search`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: form });
      const body = (await res.json()) as { results: { face_id: number }[]; query_time_ms: number; timings: Record<keyof typeof split, number> };
      if (res.status !== 200) throw new Error(`search answered ${res.status}: ${JSON.stringify(body)}`);
      if (i === 0) continue; // warm-up
      totals.push(body.query_time_ms);
      for (const k of Object.keys(split) as (keyof typeof split)[]) split[k].push(body.timings[k]);
      found = body.results.filter((r) => targets.has(r.face_id)).length;
    }
    console.log(`\n${'stage'.padEnd(26)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`);
    for (const [name, xs] of [['API query_time_ms (total)', totals], ['queue + transport', split.queue_ms], ['decode + detect + embed', split.decode_detect_embed_ms], ['DB', split.db_ms]] as const) {
      console.log(`${name.padEnd(26)}${pct(xs, 50).toFixed(1).padStart(9)}${pct(xs, 99).toFixed(1).padStart(9)}`);
    }
    console.log(`\nevent: ${PHOTOS} photos, ${PHOTOS * 3} faces; the person's ${targets.size} photos found: ${found}/${targets.size}`);
    console.log('Target: p50 ≤ 150 ms on this machine.');
  } finally {
    await pipeline.close();
    await t.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
