import qrcode from 'qrcode-generator';

/** Draws `text` as a QR code filling the canvas, computed here: no image service, no network. */
export function drawQr(canvas: HTMLCanvasElement, text: string): void {
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (text === '') return;
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const count = qr.getModuleCount();
  const quiet = 4; // the standard's quiet zone, in modules
  const cell = Math.floor(Math.min(canvas.width, canvas.height) / (count + 2 * quiet));
  const offset = Math.floor((canvas.width - cell * count) / 2);
  ctx.fillStyle = '#000';
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (qr.isDark(row, col)) ctx.fillRect(offset + col * cell, offset + row * cell, cell, cell);
    }
  }
}
