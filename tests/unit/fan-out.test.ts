import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fanOut, type Chunk } from '../../builder/write/fan-out.ts';

const CHUNK = 4096;
let dir = '';
let imagePath = '';
const image = randomBytes(10 * CHUNK + 100);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'openkey-fan-out-'));
  imagePath = path.join(dir, 'image');
  await writeFile(imagePath, image);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A key that copies what it gets into its own bytes, after `delayMs` per chunk, and notes the buffers in use. */
function recordingKey(name: string, delayMs: number, failAt?: number) {
  const bytes = Buffer.alloc(image.length);
  const order: number[] = [];
  return {
    name,
    bytes,
    order,
    step: async ({ at, length, buffer }: Chunk) => {
      await pause(delayMs);
      if (at === failAt) throw new Error(`EIO at ${at}`);
      buffer.copy(bytes, at, 0, length);
      order.push(at);
    },
  };
}

describe('fanOut', () => {
  it('gives every key every chunk in order, each at its own pace, from one read of the image', async () => {
    const source = await open(imagePath, 'r');
    const fast = recordingKey('fast', 0);
    const slow = recordingKey('slow', 5);
    let reads = 0;
    const alive = await fanOut({
      source,
      ranges: [
        { offset: 0, bytes: 3 * CHUNK },
        { offset: 5 * CHUNK, bytes: 5 * CHUNK + 100 },
      ],
      chunkBytes: CHUNK,
      buffers: [Buffer.alloc(CHUNK), Buffer.alloc(CHUNK), Buffer.alloc(CHUNK)],
      consumers: [fast, slow].map((key) => ({ key, step: key.step })),
      onRead: () => reads++,
      onFailure: () => expect.unreachable(),
    }).finally(() => source.close());
    expect(alive.map((k) => k.name)).toEqual(['fast', 'slow']);
    expect(reads).toBe(9);
    const expected = [0, 1, 2, 5, 6, 7, 8, 9, 10].map((n) => n * CHUNK);
    for (const key of [fast, slow]) {
      expect(key.order).toEqual(expected);
      // The ranges were copied, the gap between them was not.
      expect(key.bytes.subarray(0, 3 * CHUNK).equals(image.subarray(0, 3 * CHUNK))).toBe(true);
      expect(key.bytes.subarray(5 * CHUNK).equals(image.subarray(5 * CHUNK))).toBe(true);
      expect(key.bytes.subarray(3 * CHUNK, 5 * CHUNK).every((b) => b === 0)).toBe(true);
    }
  });

  it('never lets the reader overwrite a buffer a key still holds: the pool bounds how far it runs ahead', async () => {
    const source = await open(imagePath, 'r');
    const pool = [Buffer.alloc(CHUNK), Buffer.alloc(CHUNK)];
    const key = {
      bytes: Buffer.alloc(image.length),
      step: async ({ at, length, buffer }: Chunk) => {
        const before = Buffer.from(buffer.subarray(0, length));
        await pause(3);
        // Had the reader reused this buffer meanwhile, its bytes would have changed under the key.
        expect(buffer.subarray(0, length).equals(before)).toBe(true);
        buffer.copy(key.bytes, at, 0, length);
      },
    };
    await fanOut({
      source,
      ranges: [{ offset: 0, bytes: image.length }],
      chunkBytes: CHUNK,
      buffers: pool,
      consumers: [{ key, step: key.step }],
      onFailure: () => expect.unreachable(),
    }).finally(() => source.close());
    expect(key.bytes.equals(image)).toBe(true);
  });

  it('drops a key whose step fails, names the chunk, and finishes the others', async () => {
    const source = await open(imagePath, 'r');
    const good = recordingKey('good', 1);
    const bad = recordingKey('bad', 0, 4 * CHUNK);
    const failures: string[] = [];
    const alive = await fanOut({
      source,
      ranges: [{ offset: 0, bytes: image.length }],
      chunkBytes: CHUNK,
      buffers: [Buffer.alloc(CHUNK), Buffer.alloc(CHUNK)],
      consumers: [good, bad].map((key) => ({ key, step: key.step })),
      onFailure: (key, error, chunk) => failures.push(`${key.name} at ${chunk.at}: ${(error as Error).message}`),
    }).finally(() => source.close());
    expect(alive.map((k) => k.name)).toEqual(['good']);
    expect(failures).toEqual([`bad at ${4 * CHUNK}: EIO at ${4 * CHUNK}`]);
    expect(good.bytes.equals(image)).toBe(true);
    expect(bad.order).toEqual([0, 1, 2, 3].map((n) => n * CHUNK));
  });

  it('stops on abort only after every step in flight has ended, and says the image shrank when it did', async () => {
    const source = await open(imagePath, 'r');
    const controller = new AbortController();
    let inFlight = 0;
    let finishedAfterAbort = 0;
    const key = {
      step: async ({ at }: Chunk) => {
        inFlight++;
        if (at === 2 * CHUNK) controller.abort(new Error('interrupted'));
        await pause(5);
        if (controller.signal.aborted) finishedAfterAbort++;
        inFlight--;
      },
    };
    await expect(
      fanOut({
        source,
        ranges: [{ offset: 0, bytes: image.length }],
        chunkBytes: CHUNK,
        buffers: [Buffer.alloc(CHUNK), Buffer.alloc(CHUNK)],
        consumers: [{ key, step: key.step }],
        onFailure: () => expect.unreachable(),
        signal: controller.signal,
      }),
    ).rejects.toThrow('interrupted');
    expect(inFlight).toBe(0);
    expect(finishedAfterAbort).toBeGreaterThan(0);

    await expect(
      fanOut({
        source,
        ranges: [{ offset: 0, bytes: image.length + CHUNK }],
        chunkBytes: CHUNK,
        buffers: [Buffer.alloc(CHUNK)],
        consumers: [{ key: 'k', step: async () => undefined }],
        onFailure: () => expect.unreachable(),
      }).finally(() => source.close()),
    ).rejects.toThrow(`the image shrank while it was being written (it ends at byte ${image.length})`);
  });
});
