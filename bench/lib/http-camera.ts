/**
 * A camera for `bench:live` that posts each shot to the upload API with `live=true`, as the
 * camera FTP role and the hot folder do after receiving a file. The FTP camera
 * (`bench/lib/ftp-camera.ts`, from the live-ingest work) implements the same `LiveCamera` shape.
 */
export interface LiveCamera {
  /** Delivers one shot; resolves with the photo id once the server has it (the shot is "taken" when called). */
  shoot(bytes: Buffer, name: string): Promise<number>;
  close(): Promise<void>;
}

export function createHttpCamera(options: { api: string; authorization: string; eventId: number }): LiveCamera {
  return {
    async shoot(bytes, name) {
      const form = new FormData();
      form.append('event_id', String(options.eventId));
      form.append('live', 'true');
      form.append('file', new Blob([bytes]), name);
      const res = await fetch(`${options.api}/faces/upload`, { method: 'POST', headers: { authorization: options.authorization }, body: form });
      if (res.status !== 201) throw new Error(`camera upload failed: HTTP ${res.status} ${await res.text()}`);
      return ((await res.json()) as { face_id: number }).face_id;
    },
    async close() {},
  };
}
