// Launch-token verification.
export { LaunchTokenError, LaunchTokenVerifier } from './launch-token-verifier.js';
export type { LaunchTokenVerifierOptions, VerifyAlgorithm } from './launch-token-verifier.js';
