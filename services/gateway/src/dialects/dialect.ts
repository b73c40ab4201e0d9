// A wire format a socket speaks: how its frames become the protocol's client messages, and how
// the protocol's events are written to it. Nothing behind the gateway knows of any but the native.
import type { ParsedClientMessage, ServerEvent } from '@mozaiks/protocol';

export interface Dialect {
  readonly name: 'native' | 'python';
  /** A client's frame as a message of the protocol, or why it is refused. */
  parse(frame: string): ParsedClientMessage;
  /** An event as this format writes it; undefined for what it has no event for. */
  render(event: ServerEvent): string | undefined;
}
