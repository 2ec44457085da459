import { cosineToSimilarity, ImageDecodeError, similarityToCosine, toStorageVector, type FaceEngine } from '../vision/index.js';
import type { SearchJobResult } from '../queue/jobs.js';
import type { SelfieRepository } from '../repositories/selfie.repository.js';
import type { VectorSearchRepository } from '../repositories/vector-search.repository.js';
import { chooseSelfieFace } from './selfie-face.js';

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** Worker side of a search: embed the selfie's face and find the event's photos that match it. */
export function createSelfieSearchService(deps: { engine: FaceEngine; selfies: SelfieRepository; vectors: VectorSearchRepository }) {
  const { engine, selfies, vectors } = deps;
  return {
    async search(job: { selfieKey: string; eventId: number; threshold: number; limit: number; faceIndex?: number; withEmbedding?: boolean }): Promise<SearchJobResult> {
      const image = await selfies.take(job.selfieKey);
      if (!image) return { status: 'selfie_expired' };
      let t = performance.now();
      let analysis;
      try {
        analysis = await engine.analyze(image, { mode: 'selfie' });
      } catch (error) {
        // Not decodable (corrupt, truncated, not an image): a different advice than "no face".
        if (error instanceof ImageDecodeError) return { status: 'unreadable' };
        throw error;
      }
      const choice = chooseSelfieFace(analysis.faces.map((f) => f.box), analysis.width, analysis.height, job.faceIndex);
      if (choice.kind === 'none') return { status: 'no_face' };
      if (choice.kind === 'ambiguous') return { status: 'multiple_faces', faces: choice.boxes };
      const face = analysis.faces[choice.index]!;
      const decode_detect_embed_ms = round(performance.now() - t);

      t = performance.now();
      const vector = toStorageVector(face.embedding);
      const matches = await vectors.nearestPhotos({
        eventId: job.eventId,
        modelPack: engine.packId,
        vector,
        maxDistance: similarityToCosine(job.threshold, engine.packId),
        limit: job.limit,
      });
      return {
        status: 'ok',
        modelPack: engine.packId,
        matches: matches.map((m) => ({ faceId: m.faceId, similarity: cosineToSimilarity(m.distance, engine.packId) })),
        ...(job.withEmbedding && { embedding: vector }),
        timings: { decode_detect_embed_ms, db_ms: round(performance.now() - t) },
      };
    },
  };
}
export type SelfieSearchService = ReturnType<typeof createSelfieSearchService>;
