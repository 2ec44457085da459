/**
 * A small labelled event of identity photos only (dlib johns/, or faces-dev identities/), for the
 * issue's "recall on genuine pairs is not worse than before" check: every photo is an event photo
 * (photo mode, its largest face labelled with the person) and a selfie query (selfie mode) whose
 * own photo does not count (precision-eval's leave-one-out).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DetectedFace, FaceEngine } from '../../src/vision/index.js';
import { faceQuality } from '../../src/vision/face-quality.js';
import type { Corpus, CorpusFace } from './precision-corpus.js';

const largest = (faces: DetectedFace[]): DetectedFace | undefined => [...faces].sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];

/** `root/<person>/<photo>` → a corpus whose faces and queries are those photos. */
export async function identityEvent(engine: FaceEngine, root: string): Promise<Corpus> {
  const faces: CorpusFace[] = [];
  const queries: CorpusFace[] = [];
  let photo = 0;
  for (const person of (await readdir(root)).sort()) {
    for (const file of (await readdir(path.join(root, person))).sort()) {
      if (!/\.(jpe?g|png)$/i.test(file)) continue;
      const source = path.join(root, person, file);
      const bytes = await readFile(source);
      const event = await engine.analyze(bytes, { mode: 'photo' });
      const main = largest(event.faces);
      for (const f of event.faces) {
        faces.push({ person: f === main ? person : 'unknown', source, photo, embedding: [...f.embedding], quality: faceQuality(f, event.width, event.height) });
      }
      const selfie = await engine.analyze(bytes, { mode: 'selfie' });
      const q = largest(selfie.faces);
      if (q) queries.push({ person, source, photo: -1, embedding: [...q.embedding], quality: faceQuality(q, selfie.width, selfie.height) });
      photo++;
    }
  }
  return { version: 0, faces, queries, photos: photo };
}
