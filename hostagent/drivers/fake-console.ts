import { Duplex, PassThrough } from 'node:stream';

/** The fake guest's serial port: what is typed comes back, as a terminal's echo shows it. */
export function fakeSerial(): Duplex {
  return new PassThrough();
}

const WIDTH = 16;
const HEIGHT = 8;
const NAME = 'orrery-fake';

/**
 * A minimal RFB 3.8 server (RFC 6143) with one security type (None) and a framebuffer of one
 * colour, so the proxy and a VNC client (noVNC in the dashboard) can be tested end to end without
 * a hypervisor.
 */
export class FakeRfbServer extends Duplex {
  private buf = Buffer.alloc(0);
  private state: 'version' | 'security' | 'init' | 'normal' = 'version';

  constructor() {
    super();
    this.push(Buffer.from('RFB 003.008\n'));
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    try {
      while (this.step());
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  /** Handles one complete client message, if the buffer holds one; false when it needs more bytes. */
  private step(): boolean {
    const b = this.buf;
    if (this.state === 'version') {
      if (b.length < 12) return false;
      if (!/^RFB 003\.00[78]\n$/.test(b.subarray(0, 12).toString('latin1'))) throw new Error('unsupported RFB version');
      this.push(Buffer.from([1, 1])); // one security type: None
      return this.advance(12, 'security');
    }
    if (this.state === 'security') {
      if (b.length < 1) return false;
      if (b[0] !== 1) throw new Error(`security type ${b[0]} was not offered`);
      this.push(Buffer.alloc(4)); // SecurityResult: OK
      return this.advance(1, 'init');
    }
    if (this.state === 'init') {
      if (b.length < 1) return false;
      this.push(serverInit());
      return this.advance(1, 'normal');
    }
    const length = clientMessageLength(b);
    if (length === null || b.length < length) return false;
    // A still screen never changes, so an incremental request is left waiting, as RFC 6143 §7.5.3
    // allows: answering each at once would spin a VNC client (noVNC asks again after every update).
    if (b[0] === 3 && b[1] === 0) this.push(framebufferUpdate());
    return this.advance(length, 'normal');
  }

  private advance(n: number, next: FakeRfbServer['state']): true {
    this.buf = this.buf.subarray(n);
    this.state = next;
    return true;
  }
}

/** The length of the client message at the start of `b` (RFC 6143 §7.5), or null before it is known. */
function clientMessageLength(b: Buffer): number | null {
  if (b.length < 1) return null;
  switch (b[0]) {
    case 0: return 20; // SetPixelFormat
    case 2: return b.length < 4 ? null : 4 + 4 * b.readUInt16BE(2); // SetEncodings
    case 3: return 10; // FramebufferUpdateRequest
    case 4: return 8; // KeyEvent
    case 5: return 6; // PointerEvent
    case 6: return b.length < 8 ? null : 8 + b.readUInt32BE(4); // ClientCutText
    default: throw new Error(`unknown RFB client message type ${b[0]}`);
  }
}

function serverInit(): Buffer {
  const name = Buffer.from(NAME);
  const b = Buffer.alloc(24 + name.length);
  b.writeUInt16BE(WIDTH, 0);
  b.writeUInt16BE(HEIGHT, 2);
  // Pixel format: 32 bpp, depth 24, little-endian, true colour, 8 bits per channel.
  Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]).copy(b, 4);
  b.writeUInt32BE(name.length, 20);
  name.copy(b, 24);
  return b;
}

/** The whole framebuffer as one raw rectangle. */
function framebufferUpdate(): Buffer {
  const b = Buffer.alloc(4 + 12 + WIDTH * HEIGHT * 4, 0x40);
  b.writeUInt8(0, 0);
  b.writeUInt8(0, 1);
  b.writeUInt16BE(1, 2);
  b.writeUInt16BE(0, 4);
  b.writeUInt16BE(0, 6);
  b.writeUInt16BE(WIDTH, 8);
  b.writeUInt16BE(HEIGHT, 10);
  b.writeInt32BE(0, 12); // raw encoding
  return b;
}
