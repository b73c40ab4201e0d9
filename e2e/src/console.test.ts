// The web console in a real browser (Debian's Chromium, driven by playwright-core): a message to
// the shipped workflow with a tool, the reply, the tool call and the usage on the page, and the
// chat's history after a reload. The screenshot stays in e2e/artifacts/ for CI.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { mintToken } from '@mozaiks/testing';
import { REPO_ROOT, startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'e2e/artifacts');
const maybe = existsSync(CHROMIUM) ? describe : describe.skip;

describe("the console's script", () => {
  it('is built from its source (npm run console)', () => {
    const check = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build-console.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect([check.status, check.stderr]).toEqual([0, '']);
  });
});

maybe('the web console at /console', () => {
  let rt: TestRuntime;
  let browser: Browser;
  beforeAll(async () => {
    rt = await startTestRuntime();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await rt?.stop();
  });

  it('sends a message to the workflow with a tool and shows the reply, the tool call and the usage; a reload shows the history', async () => {
    rt.llm.push(
      {
        tool_calls: [{ name: 'current_time', arguments: '{"time_zone": "UTC"}' }],
        usage: { prompt_tokens: 30, completion_tokens: 8 },
      },
      { content: 'It is a fine time to start.', usage: { prompt_tokens: 40, completion_tokens: 9 } },
    );
    rt.runtime.setConsoleToken(await mintToken({ claims: { workflow_id: 'hello', chat_id: 'chat_console' } }));
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await page.goto(`${rt.runtime.url}/console`);
    // Labelled fields, the development token already in its field.
    expect(await page.getByLabel('Token').inputValue()).toMatch(/^ey/);
    await page.getByLabel('Message').fill('What time is it?');
    await page.getByRole('button', { name: 'Send' }).click();
    const log = page.getByRole('list', { name: 'Conversation' });
    await log.getByText(/^Usage: \d+ tokens, \$\d+\.\d{6}$/).waitFor({ timeout: 15_000 });
    await expect(log.getByText('You: What time is it?').count()).resolves.toBe(1);
    await expect(log.getByText(/^Assistant calls current_time\(\{"time_zone":"UTC"\}\)$/).count()).resolves.toBe(1);
    await expect(log.getByText(/^current_time → /).count()).resolves.toBe(1);
    await expect(log.getByText('Assistant: It is a fine time to start.').count()).resolves.toBe(1);
    expect(await page.getByRole('status').first().textContent()).toBe('open');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'console.png'), fullPage: true });

    // A reload reads the chat from its start: the same conversation, without sending anything.
    await page.reload();
    await log.getByText('Assistant: It is a fine time to start.').waitFor({ timeout: 10_000 });
    await expect(log.getByText(/^Usage: /).count()).resolves.toBe(1);
    // Keyboard only: Enter in the Message field sends.
    rt.llm.push({ content: 'Still a fine time.', usage: { prompt_tokens: 10, completion_tokens: 4 } });
    await page.getByLabel('Message').fill('And now?');
    await page.getByLabel('Message').press('Enter');
    await log.getByText('Assistant: Still a fine time.').waitFor({ timeout: 10_000 });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('is not served by a gateway that was not asked to', async () => {
    const off = await startTestRuntime({ env: { CONSOLE_ENABLED: 'false' } });
    try {
      expect((await fetch(`${off.runtime.url}/console`)).status).toBe(404);
    } finally {
      await off.stop();
    }
  });
});
