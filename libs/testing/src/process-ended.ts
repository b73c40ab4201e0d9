// Waits for a process the test does not own (a tool worker, say) to be gone.

/** Whether process `pid` has ended within `timeoutMs`. */
export async function processEnded(pid: number, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
