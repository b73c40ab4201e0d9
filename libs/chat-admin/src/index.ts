// The control plane's API over chats: the calls (chat-admin.ts) and their HTTP routes (admin-http.ts).
export { AdminError, ChatAdmin } from './chat-admin.js';
export type { ChatAdminStores } from './chat-admin.js';
export { API_PREFIX, adminHttp } from './admin-http.js';
export type { AdminHttpOptions, AdminTokenCheck } from './admin-http.js';
export { decodeCursor, encodeCursor } from './cursor.js';
