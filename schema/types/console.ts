import type { ConsoleKind } from '../../store/console-tokens.ts';
import { builder } from '../builder.ts';

export const ConsoleTypeEnum = builder.enumType('ConsoleType', {
  description: "VNC: the guest's screen over RFB (noVNC's binary subprotocol); SERIAL: its first serial port, read and write.",
  values: { VNC: { value: 'vnc' }, SERIAL: { value: 'serial' } } as const,
});

export interface RemoteConsoleView {
  kind: ConsoleKind;
  url: string;
  expiresAt: Date;
}

export const RemoteConsole = builder.objectRef<RemoteConsoleView>('RemoteConsole').implement({
  description: "Nova's remote console: a WebSocket URL carrying a one-time token, usable once before expiresAt.",
  fields: (t) => ({
    type: t.field({ type: ConsoleTypeEnum, resolve: (c) => c.kind }),
    url: t.exposeString('url', { description: 'Open it as a WebSocket (wss://… behind TLS); the token is its only credential' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});
