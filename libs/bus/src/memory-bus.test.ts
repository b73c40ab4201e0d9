// The in-memory adapter against the Bus contract.
import { busContract } from './bus.contract';
import { MemoryBus } from './memory-bus';

busContract('MemoryBus', { create: async () => new MemoryBus({ redeliveryDelayMs: 20 }) });
