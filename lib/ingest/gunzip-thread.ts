/**
 * Gunzip on a thread of its own for the large CSV.gz files that parse workers read (issue 8).
 * The main thread sends the compressed chunks to a small worker (WORKER_SOURCE), which inflates
 * them with node:zlib into a ring of slots in one SharedArrayBuffer;
 * the main thread reads each slot in place and hands it back when it asks for the next one.
 *
 * Why: node:zlib makes a new ArrayBuffer for every 256 KiB it inflates, ~2,100 of them for the
 * bench export's 548 MB. V8 counts ArrayBuffer memory towards its heap limits, so that churn on the
 * main thread made it start a full mark-compact every ~0.3 s of ingest (29-49 in a 10M-row
 * run, ~0.7 s of pauses plus background marking); with the bytes arriving in a
 * SharedArrayBuffer made once, the main thread allocates none. Measured with the bench
 * export already in memory (no inflating at all), the same pass made 9-12 mark-compacts, and 21-23
 * when each 256 KiB was copied into a fresh Buffer as zlib does.
 *
 * The chunks this yields are views into the ring, valid until the next call to next(): a
 * consumer that keeps one longer must copy it (see copyChunks).
 */
import { Worker } from 'node:worker_threads';
import { corruptGzip, GUNZIP_CHUNK_BYTES, isZlibError } from './source.js';

/** The ring: slots and bytes a slot holds (8 MiB in all; tests make it small, so slots are reused at once). */
export interface Ring {
  slots: number;
  slotBytes: number;
}
const RING: Ring = { slots: 8, slotBytes: 1 << 20 };
/** Compressed chunks sent ahead of the worker's inflating. */
const INPUT_AHEAD = 4;

/** The messages to and from the worker (WORKER_SOURCE). */
type ToWorker =
  | { sab: SharedArrayBuffer; slots: number; slotBytes: number }
  | { type: 'gz-in'; chunk: Uint8Array }
  | { type: 'gz-end' }
  | { type: 'gz-release'; slot: number };
type FromWorker = { gz: 'data'; slot: number; len: number } | { gz: 'credit' } | { gz: 'end' } | { gz: 'error'; message: string; code: unknown };

/**
 * The decompressed bytes of a gzip stream, inflated on a worker thread; chunks are views valid
 * until the next call to next(). Errors: as gunzip() (source.ts).
 */
export async function* gunzipOffThread(src: AsyncIterable<Uint8Array>, name: string, ring: Ring = RING): AsyncGenerator<Uint8Array> {
  const { slots, slotBytes } = ring;
  const worker = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 64 } });
  const sab = new SharedArrayBuffer(slots * slotBytes);
  const ready: { slot: number; len: number }[] = [];
  let ended = false;
  let stopped = false;
  let failure: unknown = null;
  let credits = INPUT_AHEAD;
  // one waiter each: the reader (for data) and the feeder (for credit)
  let wakeReader: (() => void) | null = null;
  let wakeFeeder: (() => void) | null = null;
  const signal = () => {
    const r = wakeReader;
    const f = wakeFeeder;
    wakeReader = wakeFeeder = null;
    r?.();
    f?.();
  };
  const post = (m: ToWorker) => worker.postMessage(m);
  worker.on('message', (m: FromWorker) => {
    if (m.gz === 'data') ready.push({ slot: m.slot, len: m.len });
    else if (m.gz === 'credit') credits++;
    else if (m.gz === 'end') ended = true;
    else failure ??= isZlibError(m) ? corruptGzip(name, m.message) : new Error(`gunzip worker: ${m.message}`);
    signal();
  });
  worker.on('error', (e) => {
    failure ??= e;
    signal();
  });
  worker.on('exit', (code) => {
    if (!ended && !stopped) failure ??= new Error(`the gunzip worker exited with code ${code}`);
    signal();
  });
  post({ sab, slots, slotBytes });

  // the compressed bytes go to the worker as they come, a few chunks ahead of its inflating
  const it = src[Symbol.asyncIterator]();
  const feed = (async () => {
    try {
      for (;;) {
        while (credits === 0 && !stopped && failure === null) await new Promise<void>((resolve) => (wakeFeeder = resolve));
        if (stopped || failure !== null) return;
        const r = await it.next();
        if (r.done) break;
        if (r.value.byteLength === 0) continue;
        credits--;
        post({ type: 'gz-in', chunk: r.value }); // copied: the source may reuse or share its buffers
      }
      post({ type: 'gz-end' });
    } catch (e) {
      failure ??= e; // the source's own error, unchanged
      signal();
    }
  })();

  try {
    for (;;) {
      while (ready.length === 0 && !ended && failure === null) await new Promise<void>((resolve) => (wakeReader = resolve));
      if (failure !== null) throw failure;
      const next = ready.shift();
      if (next === undefined) return; // ended, all read
      yield Buffer.from(sab, next.slot * slotBytes, next.len);
      post({ type: 'gz-release', slot: next.slot });
    }
  } finally {
    stopped = true;
    signal();
    await feed;
    await it.return?.();
    await worker.terminate();
  }
}

/** Copies of the chunks, for a consumer that keeps chunks past the next read (see gunzipOffThread). */
export async function* copyChunks(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const c of src) yield Buffer.from(c);
}

/**
 * The worker's code (plain JavaScript, run with `eval`: it starts in ~30 ms, where a worker loading
 * the TypeScript sources through tsx took 600-750 ms to its first bytes, all of it main-thread
 * idle time; and the Lambda bundle need not ship a file for it). It inflates what comes in into
 * the ring's free slots, pausing zlib while none is free; a slot goes to the main thread when full
 * (or at the end) and comes back with gz-release. Tested through gunzipOffThread.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createGunzip } = require('node:zlib');
parentPort.once('message', (start) => {
  const ring = new Uint8Array(start.sab);
  const size = start.slotBytes;
  const free = [];
  for (let i = 0; i < start.slots; i++) free.push(i);
  const out = [];
  let cur = -1, curLen = 0, zlibEnded = false, finished = false, inputEnded = false;
  const post = (m) => parentPort.postMessage(m);
  const gz = createGunzip({ chunkSize: ${GUNZIP_CHUNK_BYTES} });
  // moves inflated bytes into free slots; true when all of them went
  const drain = () => {
    while (out.length > 0) {
      if (cur < 0) {
        if (free.length === 0) return false;
        cur = free.shift();
        curLen = 0;
      }
      const c = out[0];
      const n = Math.min(size - curLen, c.length);
      ring.set(c.subarray(0, n), cur * size + curLen);
      curLen += n;
      if (n === c.length) out.shift();
      else out[0] = c.subarray(n);
      if (curLen === size) {
        post({ gz: 'data', slot: cur, len: curLen });
        cur = -1;
      }
    }
    return true;
  };
  const finish = () => {
    if (finished || !zlibEnded || out.length > 0) return;
    finished = true;
    if (cur >= 0 && curLen > 0) post({ gz: 'data', slot: cur, len: curLen });
    post({ gz: 'end' });
  };
  gz.on('data', (c) => {
    out.push(c);
    if (!drain()) gz.pause();
  });
  gz.on('end', () => {
    zlibEnded = true;
    finish();
  });
  gz.on('error', (e) => post({ gz: 'error', message: e.message, code: e.code }));
  parentPort.on('message', (m) => {
    if (m.type === 'gz-in') gz.write(m.chunk, () => post({ gz: 'credit' }));
    else if (m.type === 'gz-end') {
      if (!inputEnded) gz.end();
      inputEnded = true;
    } else if (m.type === 'gz-release') {
      free.push(m.slot);
      if (drain()) {
        gz.resume();
        finish();
      }
    }
  });
});
`;
