// W3C trace context: children keep the trace and flags with a span of their own; bad input starts afresh.
import { childTraceparent, newTraceparent, traceIdOf } from './trace-context';

const SHAPE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

describe('trace context', () => {
  it('makes W3C traceparents whose children share the trace, with a span of their own', () => {
    const parent = newTraceparent();
    expect(parent).toMatch(SHAPE);
    const child = childTraceparent(parent);
    expect(traceIdOf(child)).toBe(traceIdOf(parent));
    expect(child.match(SHAPE)![2]).not.toBe(parent.match(SHAPE)![2]);
    expect(child.endsWith('-01')).toBe(true);
    // An unsampled trace stays unsampled.
    expect(childTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00')).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
  });

  it('starts a new trace from a missing or invalid parent, and reads no trace id from one', () => {
    for (const bad of [undefined, '', 'nonsense', '00-00000000000000000000000000000000-b7ad6b7169203331-01']) {
      expect(traceIdOf(bad)).toBeUndefined();
      const fresh = childTraceparent(bad);
      expect(fresh).toMatch(SHAPE);
      expect(traceIdOf(fresh)).toMatch(/^[0-9a-f]{32}$/);
    }
  });
});
