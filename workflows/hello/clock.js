// A tool of the hello workflow: tells the time. Tools receive their arguments as one object.
export function current_time({ time_zone = 'UTC' } = {}) {
  const now = new Date();
  try {
    return {
      time_zone,
      now: now.toLocaleString('en-GB', { timeZone: time_zone, dateStyle: 'full', timeStyle: 'long' }),
    };
  } catch {
    return { error: `unknown time zone ${time_zone}` };
  }
}
