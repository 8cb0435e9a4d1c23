import koffi from 'koffi';

/**
 * The three system calls Node does not expose and the writer needs: lseek with SEEK_DATA/SEEK_HOLE (to skip the
 * image's holes), page-aligned memory (O_DIRECT reads need it; a Buffer's address is not aligned) and the
 * BLKGETDISKSEQ ioctl (the kernel's sequence number of the medium behind an open descriptor, which changes when a key
 * is swapped, even for one of the same model, serial and size). Called through koffi, a C FFI with prebuilt binaries.
 */
const libc = koffi.load('libc.so.6');
const lseek = libc.func('int64_t lseek(int fd, int64_t offset, int whence)');
const posixMemalign = libc.func('int posix_memalign(_Out_ void **memptr, size_t alignment, size_t size)');
const ioctlU64 = libc.func('int ioctl(int fd, unsigned long request, _Out_ uint64_t *value)');

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
/** _IOR(0x12, 128, __u64) from linux/fs.h. */
const BLKGETDISKSEQ = 0x80081280;

export interface Range {
  offset: number;
  bytes: number;
}

/**
 * The data extents of a file (what is not a hole), in order. A file system without SEEK_DATA support reports the
 * whole file as data, which is correct, only slower.
 */
export function dataRanges(fd: number, size: number): Range[] {
  const ranges: Range[] = [];
  let position = 0;
  while (position < size) {
    const data = Number(lseek(fd, position, SEEK_DATA));
    // ENXIO: no data after `position`.
    if (data < 0 || data >= size) break;
    let hole = Number(lseek(fd, data, SEEK_HOLE));
    if (hole < 0 || hole > size) hole = size;
    ranges.push({ offset: data, bytes: hole - data });
    position = hole;
  }
  return ranges;
}

/** A page-aligned buffer (never freed: the writer allocates a few for the life of the process). */
export function alignedBuffer(bytes: number): Buffer {
  const out: unknown[] = [null];
  const status = posixMemalign(out, 4096, bytes) as number;
  if (status !== 0) throw new Error(`posix_memalign(${bytes}) failed with ${status}`);
  return Buffer.from(koffi.view(out[0], bytes) as ArrayBuffer);
}

/** The kernel's disk sequence number of the device open on `fd`, or undefined on kernels before 5.15. */
export function diskSeqOf(fd: number): string | undefined {
  const value: unknown[] = [0];
  const status = ioctlU64(fd, BLKGETDISKSEQ, value) as number;
  return status === 0 ? String(value[0]) : undefined;
}
