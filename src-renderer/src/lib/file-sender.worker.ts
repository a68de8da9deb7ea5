// Sends a file the user picked in the page to the web host off the page's main thread. Chromium's
// WebSocket.send costs the calling thread about 80 ms per MiB (measured: 5.6 s of main-thread time
// for a 64 MiB file, in tasks of 0.2–0.6 s), so the page hands the File (a reference, not its bytes)
// to this worker, which reads it piece by piece (File.slice) and sends it on a connection of its own
// to the same host, with the same token. The page gets the reply, and progress while it is sent.

import { MAX_WIRE_PART_BYTES, WIRE_STREAMED_BYTES, decodeWire, encodeWireStream, type Reply, type WireServerMessage } from '../../../shared/contract';

export interface SendFileRequest {
  url: string;
  name: string;
  file: Blob;
  baseAddress?: number;
}

export type SendFileMessage = { kind: 'progress'; sent: number; total: number } | { kind: 'reply'; reply: Reply<unknown> };

/** The worker's global (the renderer compiles with the DOM library, not the worker one). */
const scope = self as unknown as { postMessage(m: SendFileMessage): void; onmessage: ((e: MessageEvent<SendFileRequest>) => void) | null };
const ID = 1;

function closed(why: string): Reply<unknown> {
  return { ok: false, error: { code: 'INTERNAL', message: `The connection to BootBridge closed while the file was sent (${why}); reload the page and open it again.`, context: {} } };
}

scope.onmessage = async (e: MessageEvent<SendFileRequest>) => {
  const { url, name, file, baseAddress } = e.data;
  const post = (m: SendFileMessage) => scope.postMessage(m);
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const reply = new Promise<Reply<unknown>>((resolve) => {
    ws.addEventListener('message', (ev) => {
      try {
        const msg = decodeWire(ev.data as ArrayBuffer | string, { maxJsonBytes: Number.MAX_SAFE_INTEGER }) as WireServerMessage;
        if ('id' in msg && msg.id === ID) resolve(msg.reply);
      } catch {
        resolve(closed('an unreadable answer'));
      }
    });
    ws.addEventListener('close', (ev) => resolve(closed(ev.reason || `code ${ev.code}`)));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () => reject(new Error('no connection')));
    });
    const payload = { name, bytes: WIRE_STREAMED_BYTES, ...(baseAddress === undefined ? {} : { baseAddress }) };
    let sent = 0;
    const read = async (start: number, end: number) => new Uint8Array(await file.slice(start, end).arrayBuffer());
    for await (const part of encodeWireStream({ id: ID, method: 'openFirmwareBytes', payload }, file.size, read)) {
      // Backpressure: never more than a few parts queued in the socket.
      while (ws.bufferedAmount > 2 * MAX_WIRE_PART_BYTES && ws.readyState === WebSocket.OPEN) await new Promise((r) => setTimeout(r, 10));
      if (ws.readyState !== WebSocket.OPEN) break;
      ws.send(part);
      sent = Math.min(file.size, sent + part.byteLength);
      post({ kind: 'progress', sent, total: file.size });
    }
    post({ kind: 'reply', reply: await reply });
  } catch (err) {
    post({ kind: 'reply', reply: closed((err as Error).message) });
  } finally {
    ws.close();
  }
};
