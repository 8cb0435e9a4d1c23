/**
 * A Server-Sent Events stream with backpressure. Progress frames are superseded by the next one, so while the
 * client has not read what was written they are not queued: only the latest waits, written when the socket drains.
 * The final `result` frame is written once. A client that leaves its stream unread for `stallMs` is dropped (the
 * connection destroyed), so a client that never reads holds at most one progress frame and one result; a client
 * that reads slowly is kept as long as it takes something within each stallMs.
 */
import type { ServerResponse } from 'node:http';

export interface StreamStats {
  /** Streams open now. */
  open: number;
  /** Streams dropped because their client did not read. */
  dropped: number;
}

export class EventStream {
  private readonly raw: ServerResponse;
  private readonly stallMs: number;
  private readonly stats: StreamStats;
  private pending: string | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(raw: ServerResponse, options: { stallMs: number; stats: StreamStats }) {
    this.raw = raw;
    this.stallMs = options.stallMs;
    this.stats = options.stats;
    this.stats.open++;
    raw.on('drain', () => this.drained());
    raw.on('close', () => this.close());
  }

  /** A frame that the next one supersedes: written now if the client keeps up, else only the latest, later. */
  progress(frame: string): void {
    if (this.closed) return;
    if (this.raw.writableNeedDrain) {
      this.pending = frame;
      return;
    }
    if (!this.raw.write(frame)) this.watch();
  }

  /** The last frame; the stream ends once the client has it (or is dropped). */
  end(frame: string | Uint8Array): void {
    if (this.closed) return;
    this.pending = undefined;
    // 'finish' comes once the kernel has taken every byte: the client is reading.
    this.raw.once('finish', () => this.drained());
    this.raw.end(frame);
    if (this.raw.writableNeedDrain || this.raw.writableLength > 0) this.watch();
  }

  onClose(listener: () => void): void {
    this.raw.on('close', listener);
  }

  /** Drops the client unless the kernel takes more of what it was sent within stallMs (it reads, however slowly). */
  private watch(): void {
    if (this.stallTimer !== undefined) return;
    // Bytes still waiting in this process for the kernel: they go down as the client reads.
    const left = this.raw.writableLength;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.closed) return;
      if (this.raw.writableLength < left) {
        this.watch();
        return;
      }
      this.stats.dropped++;
      // Closed here, not when 'close' comes a tick later, so open and dropped never count the same stream twice.
      this.close();
      this.raw.destroy();
    }, this.stallMs);
  }

  private drained(): void {
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const frame = this.pending;
    this.pending = undefined;
    if (frame !== undefined && !this.closed && !this.raw.writableEnded && !this.raw.write(frame)) this.watch();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = undefined;
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stats.open--;
  }
}
