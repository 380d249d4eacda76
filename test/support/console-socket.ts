import WebSocket from 'ws';

/** A console WebSocket as a client sees it: every byte received, and how it closed. */
export class ConsoleSocket {
  received = Buffer.alloc(0);
  private offset = 0;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.wake();
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => {
      this.wake();
      resolve({ code, reason: reason.toString() });
    }));
  }

  /** Opens `url`; `protocols` as noVNC sends them, `token` a bearer the client also shows. */
  static open(url: string, o: { protocols?: string[]; token?: string } = {}): Promise<ConsoleSocket> {
    const ws = new WebSocket(url, o.protocols ?? [], o.token ? { headers: { authorization: `Bearer ${o.token}` } } : {});
    const s = new ConsoleSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(s));
      ws.once('error', reject);
    });
  }

  /** How a refused URL closes (the proxy accepts the upgrade, then closes with a reason). */
  static async refusal(url: string, o: { protocols?: string[]; token?: string } = {}) {
    return (await ConsoleSocket.open(url, o)).closed;
  }

  send(data: Buffer | string): void {
    this.ws.send(typeof data === 'string' ? Buffer.from(data) : data);
  }

  /** Exactly `n` more bytes of the stream. */
  async read(n: number, timeoutMs = 10_000): Promise<Buffer> {
    await this.until(() => this.received.length - this.offset >= n, `${n} bytes`, timeoutMs);
    const out = this.received.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** Waits until everything received matches `re`; returns it as text. */
  async text(re: RegExp, timeoutMs = 10_000): Promise<string> {
    await this.until(() => re.test(this.received.toString('latin1')), String(re), timeoutMs);
    return this.received.toString('latin1');
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close(1000, 'done');
    return this.closed;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until(ok: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!ok()) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`console closed while waiting for ${what}; got ${JSON.stringify(this.received.toString('latin1').slice(-300))}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.received.toString('latin1').slice(-300))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }
}

export interface RfbSession {
  serverVersion: string;
  securityTypes: number[];
  width: number;
  height: number;
  bitsPerPixel: number;
  name: string;
  /** The FramebufferUpdate answering our request: its rectangles (raw encoding). */
  rects: { x: number; y: number; w: number; h: number; encoding: number; bytes: number }[];
}

/**
 * A VNC client's side of RFB 3.8 (RFC 6143): version, security None, ClientInit/ServerInit, then
 * a FramebufferUpdateRequest for the top-left `area` pixels answered by a FramebufferUpdate.
 */
export async function rfbHandshake(s: ConsoleSocket, area = { w: 16, h: 8 }): Promise<RfbSession> {
  const serverVersion = (await s.read(12)).toString('latin1');
  s.send('RFB 003.008\n');
  const count = (await s.read(1))[0]!;
  if (count === 0) throw new Error(`server refused: ${(await s.read((await s.read(4)).readUInt32BE(0))).toString()}`);
  const securityTypes = [...(await s.read(count))];
  if (!securityTypes.includes(1)) throw new Error(`no None security type among ${securityTypes}`);
  s.send(Buffer.from([1]));
  const result = (await s.read(4)).readUInt32BE(0);
  if (result !== 0) throw new Error(`security handshake failed (${result})`);
  s.send(Buffer.from([1])); // ClientInit: shared
  const init = await s.read(24);
  const name = (await s.read(init.readUInt32BE(20))).toString();
  const bitsPerPixel = init[4]!;
  // SetEncodings: raw only, so the answer's size is known from the rectangle alone.
  s.send(Buffer.from([2, 0, 0, 1, 0, 0, 0, 0]));
  const req = Buffer.alloc(10);
  req.writeUInt8(3, 0);
  req.writeUInt8(0, 1); // not incremental: the area is sent whatever changed
  req.writeUInt16BE(area.w, 6);
  req.writeUInt16BE(area.h, 8);
  s.send(req);
  const header = await s.read(4, 20_000);
  if (header[0] !== 0) throw new Error(`expected a FramebufferUpdate, got message type ${header[0]}`);
  const rects: RfbSession['rects'] = [];
  for (let i = 0; i < header.readUInt16BE(2); i++) {
    const r = await s.read(12, 20_000);
    const rect = { x: r.readUInt16BE(0), y: r.readUInt16BE(2), w: r.readUInt16BE(4), h: r.readUInt16BE(6), encoding: r.readInt32BE(8), bytes: 0 };
    if (rect.encoding !== 0) throw new Error(`unexpected encoding ${rect.encoding}`);
    rect.bytes = rect.w * rect.h * (bitsPerPixel / 8);
    await s.read(rect.bytes, 20_000);
    rects.push(rect);
  }
  return { serverVersion, securityTypes, width: init.readUInt16BE(0), height: init.readUInt16BE(2), bitsPerPixel, name, rects };
}
