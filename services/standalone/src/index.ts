// The standalone runtime as a library, for tests and embedding.
export { startStandalone } from './standalone-runtime.js';
export type { StandaloneDependencies, StandaloneRuntime } from './standalone-runtime.js';
