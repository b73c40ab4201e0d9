// Logs: the operators' shape, and no secret in any line whatever field or text it hides in.
import { Writable } from 'node:stream';
import { createLogger, toPinoLevel } from './logger';

function capture(secrets: string[] = []) {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
  return { logger: createLogger({ service: 'test', level: 'debug', destination, secrets }), lines };
}

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoidSJ9.c2lnbmF0dXJlLXZhbHVl';

describe('createLogger', () => {
  it('writes one JSON object per line with timestamp, level and message', () => {
    const { logger, lines } = capture();
    logger.child({ chat_id: 'c1' }).info({ user_id: 'u' }, 'Workflow execution started');
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'Workflow execution started',
      service: 'test',
      chat_id: 'c1',
      user_id: 'u',
    });
    expect(new Date(line.timestamp).toISOString()).toBe(line.timestamp);
  });

  it('never writes a token, a key or a configured secret', () => {
    const { logger, lines } = capture(['sk-live-abcdef123456', 'hmac-secret-value-123']);
    logger.info(
      { token: 'anything', headers: { authorization: 'Bearer x' }, apiKey: 'k', nested: { secret: 's' } },
      'fields',
    );
    logger.info({ url: `/ws/chat?token=${JWT}&x=1` }, 'a url');
    logger.warn(`text with ${JWT} inside`);
    logger.error({ error: 'failed with key sk-live-abcdef123456 and hmac-secret-value-123' }, 'an error');
    const all = lines.join('');
    for (const secret of [JWT, 'sk-live-abcdef123456', 'hmac-secret-value-123', 'Bearer x', '"anything"'])
      expect(all).not.toContain(secret);
    expect(JSON.parse(lines[1]!).url).toBe('/ws/chat?token=[REDACTED]&x=1');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      token: '[REDACTED]',
      headers: { authorization: '[REDACTED]' },
      apiKey: '[REDACTED]',
      nested: { secret: '[REDACTED]' },
    });
  });

  it("maps operators' level names", () => {
    expect(['INFO', 'WARNING', 'CRITICAL', 'debug', 'nope'].map(toPinoLevel)).toEqual([
      'info',
      'warn',
      'fatal',
      'debug',
      undefined,
    ]);
  });
});
