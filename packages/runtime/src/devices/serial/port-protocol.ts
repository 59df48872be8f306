/**
 * What a virtual serial port's hardware and its driver say to each other (framed messages,
 * devices/framing.ts): the driver sends operations, each with an id, and the hardware answers
 * each once. Bytes travel base64-encoded inside the JSON (a virtual port is slow anyway).
 */
export const enum PortMessage { Op = 1, Answer = 2 }

export const PORT_MESSAGES = [1, 2];
export const MAX_PORT_MESSAGE = 4 << 20;

export type PortOp =
  | { op: 'reset' }
  | { op: 'configure'; settings: Record<string, unknown> }
  | { op: 'lines'; lines: Record<string, boolean> }
  | { op: 'status' }
  | { op: 'baudRate' }
  /** Transmit: the answer says the hardware took every byte. */
  | { op: 'transmit'; data: string }
  /** Up to `length` received bytes, waiting at most `waitMs` for the first. */
  | { op: 'receive'; length: number; waitMs: number }
  | { op: 'flush' }
  | { op: 'drain' };

export interface PortRequest { id: number; body: PortOp }

export interface PortAnswer { id: number; ok: boolean; value?: unknown; error?: string }
