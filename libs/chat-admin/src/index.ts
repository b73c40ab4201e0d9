// The control plane's API over chats: the calls (chat-admin.ts), deleting and erasing across the
// runtime (chat-eraser.ts) and their HTTP routes (admin-http.ts).
export { AdminError } from './admin-error.js';
export { ChatAdmin } from './chat-admin.js';
export type { ChatAdminOptions, DataRequestKind } from './chat-admin.js';
export { ChatEraser } from './chat-eraser.js';
export type { ChatEraserOptions, ErasedUser, UsageStreams } from './chat-eraser.js';
export { API_PREFIX, adminHttp } from './admin-http.js';
export type { AdminHttpOptions, AdminTokenCheck } from './admin-http.js';
export { decodeCursor, encodeCursor } from './cursor.js';
