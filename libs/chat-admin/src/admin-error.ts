// A refused call of the API over chats: its HTTP status, its code and why.
export class AdminError extends Error {
  override name = 'AdminError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
