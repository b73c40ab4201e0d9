// The scripted endpoint: answers in order, records what it was asked, and fails loudly when a
// test did not expect a call.
import { startScriptedLlm } from './scripted-llm';

describe('startScriptedLlm', () => {
  it('answers queued steps in order, then the fallback, then HTTP 500', async () => {
    const llm = await startScriptedLlm([
      { content: 'one' },
      (req) => ({ content: `echo ${String(req.messages.at(-1)?.content)}` }),
    ]);
    const ask = async (content: string) => {
      const res = await fetch(`${llm.url}/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer k' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content }] }),
      });
      return {
        status: res.status,
        body: (await res.json()) as { choices?: Array<{ message: { content: string } }>; error?: { message: string } },
      };
    };
    expect((await ask('a')).body.choices![0]!.message.content).toBe('one');
    expect((await ask('b')).body.choices![0]!.message.content).toBe('echo b');
    const exhausted = await ask('c');
    expect(exhausted.status).toBe(500);
    expect(exhausted.body.error!.message).toMatch(/script exhausted/);
    llm.setFallback({ content: 'fallback' });
    expect((await ask('d')).body.choices![0]!.message.content).toBe('fallback');
    expect(llm.requests.map((r) => r.messages[0]!.content)).toEqual(['a', 'b', 'c', 'd']);
    expect(llm.authorizations[0]).toBe('Bearer k');
    await llm.close();
  });
});
