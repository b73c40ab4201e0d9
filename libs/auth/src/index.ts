// Launch-token verification, and signing for development tokens.
export { LaunchTokenError, LaunchTokenVerifier, ScopeError } from './launch-token-verifier.js';
export type { LaunchTokenVerifierOptions, VerifyAlgorithm } from './launch-token-verifier.js';
export { signLaunchToken } from './sign-launch-token.js';
export type { DevTokenClaims } from './sign-launch-token.js';
