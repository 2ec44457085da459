import type { FastifyInstance } from 'fastify';

/**
 * Keeps a keep-alive connection usable after a route answers before reading the whole body.
 *
 * An upload to a foreign or inactive event, or of a file that is not an image, is refused after
 * its first bytes; the multipart parser has the request piped into it and stops pulling, so Node
 * neither reads the rest nor closes the socket, and the client's next request on that connection
 * (browsers and `fetch` pool sockets) never gets an answer. So once the answer is ready:
 *
 * - a body of declared length up to `drainMaxBytes` is read to its end and discarded, and the
 *   connection serves the next request (the client sends the rest anyway before it reads us);
 * - a longer or chunked body gets `Connection: close`: the socket closes after the answer rather
 *   than spending bandwidth on bytes nobody will use.
 */
export function registerUnreadBodyHandling(app: FastifyInstance, options: { drainMaxBytes: number }): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const raw = request.raw;
    if (raw.complete || raw.destroyed) return payload;
    const declared = Number(raw.headers['content-length']);
    if (raw.headers['transfer-encoding'] !== undefined || !(declared <= options.drainMaxBytes)) reply.header('connection', 'close');
    // Detach whatever parser was fed (it will never be read again) and let the bytes flow to nowhere.
    raw.unpipe();
    raw.resume();
    return payload;
  });
}
