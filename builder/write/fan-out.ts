import type { FileHandle } from 'node:fs/promises';
import { OpenKeyError } from '../../common/errors.ts';
import type { Range } from './native.ts';

/** One chunk of the image as every key sees it: where it goes, how many bytes, and the bytes. */
export interface Chunk {
  at: number;
  length: number;
  buffer: Buffer;
}

/** What each key does with a chunk; a key whose step throws is dropped and its error handed to `onFailure`. */
export interface FanOutConsumer<K> {
  key: K;
  step: (chunk: Chunk) => Promise<void>;
}

export interface FanOutOptions<K> {
  source: FileHandle;
  ranges: Range[];
  chunkBytes: number;
  /** The pool of reusable buffers (page-aligned for O_DIRECT); its size is how far the reader may run ahead. */
  buffers: Buffer[];
  consumers: FanOutConsumer<K>[];
  /** Called with each chunk as read, before any key gets it (the image's hash). */
  onRead?: (chunk: Chunk) => void;
  onFailure: (key: K, error: unknown, chunk: Chunk) => void;
  signal?: AbortSignal;
}

/**
 * Reads the image's ranges once and hands every chunk, in order, to every key, each key at its own pace: while one
 * key writes chunk n, the next chunks are being read and the other keys write theirs. A buffer goes back to the pool
 * when the last key is done with it, so the slowest key sets the pace only once the pool is empty.
 *
 * Written here because a Node stream piped to several writables would allocate a fresh Buffer per chunk, and O_DIRECT
 * needs the page-aligned ones of the pool; p-limit-like helpers limit concurrency but do not order per consumer.
 * Returns the keys still going at the end.
 */
export async function fanOut<K>(options: FanOutOptions<K>): Promise<K[]> {
  const free = [...options.buffers];
  let bufferFreed: (() => void) | undefined;
  const release = (buffer: Buffer) => {
    free.push(buffer);
    bufferFreed?.();
    bufferFreed = undefined;
  };
  const takeBuffer = async (): Promise<Buffer> => {
    while (free.length === 0) await new Promise<void>((resolve) => (bufferFreed = resolve));
    return free.pop() as Buffer;
  };

  interface Lane {
    consumer: FanOutConsumer<K>;
    alive: boolean;
    /** The chain of this key's steps: each chunk's step starts when the previous one ended. */
    tail: Promise<void>;
  }
  const lanes: Lane[] = options.consumers.map((consumer) => ({ consumer, alive: true, tail: Promise.resolve() }));

  try {
    await readAll();
  } finally {
    // Even when reading failed or was aborted: no write may be in flight when the caller closes the devices.
    await Promise.all(lanes.map((lane) => lane.tail));
  }
  options.signal?.throwIfAborted();
  return lanes.filter((lane) => lane.alive).map((lane) => lane.consumer.key);

  async function readAll(): Promise<void> {
    for (const range of options.ranges) {
      for (let at = range.offset; at < range.offset + range.bytes; at += options.chunkBytes) {
        options.signal?.throwIfAborted();
        const alive = lanes.filter((lane) => lane.alive);
        if (alive.length === 0) break;
        const buffer = await takeBuffer();
        const length = Math.min(options.chunkBytes, range.offset + range.bytes - at);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await options.source.read(buffer, got, length - got, at + got);
          if (bytesRead === 0)
            throw new OpenKeyError(
              'E_WRITE_IMAGE',
              `the image shrank while it was being written (it ends at byte ${at + got})`,
            );
          got += bytesRead;
        }
        const chunk: Chunk = { at, length, buffer };
        options.onRead?.(chunk);
        let holders = alive.length;
        const done = () => {
          if (--holders === 0) release(buffer);
        };
        for (const lane of alive) {
          lane.tail = lane.tail.then(async () => {
            try {
              if (lane.alive) await lane.consumer.step(chunk);
            } catch (error) {
              lane.alive = false;
              options.onFailure(lane.consumer.key, error, chunk);
            } finally {
              done();
            }
          });
        }
      }
    }
  }
}
