// This runtime's own wire format: the protocol's messages as JSON, as PROTOCOL.md gives them.
import { parseClientMessage } from '@mozaiks/protocol';
import type { Dialect } from './dialect.js';

export const nativeDialect: Dialect = {
  name: 'native',
  parse: parseClientMessage,
  render: (event) => JSON.stringify(event),
};
