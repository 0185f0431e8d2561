import * as z from "zod";
import type { ClientMessage, ParsedRuntimeMessage } from "./schemas.js";

/**
 * Resumable connections (docs/PROTOCOL.md, "Resumable connections"): the
 * control frames and the `seq` envelope field; the handshake's names are in
 * handshake.ts. Kept beside schemas.ts, in the same single schema source, so
 * that the control frames stay out of the message unions every request rule
 * switches over.
 */

/** Sequence numbers start at 1; 0 means "none yet" in `last_seq` and acks. */
export const SeqSchema = z.number().int().nonnegative();

export const SessionMessageSchema = z.object({
  message_type: z.literal("session_message"),
  session_id: z.string().min(1),
  resume_secret: z.string().min(1),
  resume_grace_ms: z.number().int().positive(),
  replay_buffer_bytes: z.number().int().positive(),
});
export type SessionMessage = z.output<typeof SessionMessageSchema>;

export const ResumedMessageSchema = z.object({
  message_type: z.literal("resumed_message"),
  session_id: z.string().min(1),
  last_client_seq: SeqSchema,
});
export type ResumedMessage = z.output<typeof ResumedMessageSchema>;

export const AckMessageSchema = z.object({
  message_type: z.literal("ack_message"),
  seq: SeqSchema,
});
export type AckMessage = z.output<typeof AckMessageSchema>;

export const RuntimeControlMessageSchema = z.discriminatedUnion("message_type", [
  SessionMessageSchema,
  ResumedMessageSchema,
  AckMessageSchema,
]);
export type RuntimeControlMessage = z.output<typeof RuntimeControlMessageSchema>;

export const RUNTIME_CONTROL_TYPES: readonly string[] = RuntimeControlMessageSchema.options.map(
  (option) => option.shape.message_type.value,
);
export const CLIENT_CONTROL_TYPES: readonly string[] = ["ack_message"];

/** A frame of a resumable connection: a control frame, or a message with its envelope `seq`. */
export type Frame<M, C> = { control: C } | { message: M; seq: number | undefined };
export type RuntimeFrame = Frame<ParsedRuntimeMessage, RuntimeControlMessage>;
export type ClientFrame = Frame<ClientMessage, AckMessage>;

/** The `seq` of a decoded frame: undefined when absent, an error text when it is not a valid number. */
export function envelopeSeq(raw: object): number | undefined | { invalid: string } {
  const seq = (raw as { seq?: unknown }).seq;
  if (seq === undefined || seq === null) return undefined;
  return SeqSchema.safeParse(seq).success && (seq as number) > 0
    ? (seq as number)
    : { invalid: "seq: expected a positive whole number" };
}
