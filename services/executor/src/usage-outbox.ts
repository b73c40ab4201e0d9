// A chat's usage on its way to billing: each run's usage event, persisted in the chat's outbox
// with the run, is published to the metering stream (once, by run id) and then marked published.
// A chat's events go out in order, one batch at a time; after a failure the rest waits in the
// outbox for the request to be delivered again.
import type { Bus } from '@mozaiks/bus';
import { childTraceparent } from '@mozaiks/telemetry';
import type { Logger } from '@mozaiks/telemetry';
import type { PriceTable } from '@mozaiks/llm';
import type { Subjects, Tenant, UsageRecord, UsageUpdateEvent } from '@mozaiks/protocol';
import { Batcher } from '@mozaiks/common';
import type { ChatInbox, UsageMark } from '@mozaiks/store';

/** A chat's usage events on their way to billing, published one batch at a time, in order. */
export class UsageQueue {
  private chain: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly publish: (events: UsageUpdateEvent[], traceparent?: string) => Promise<void>,
    private readonly onFailure: () => void,
    /** The queue of the chat's previous serving: this one starts after it, with its outbox should it fail. */
    previous?: { after: Promise<void>; outbox: () => Promise<UsageUpdateEvent[]> },
  ) {
    // What the previous serving could not publish goes out first, read again from the outbox.
    if (previous)
      this.chain = previous.after.then(
        () => undefined,
        () => this.publishLoaded(previous.outbox),
      );
  }

  /** Publishes what `load` returns once the batches before it are out; nothing after a failure. */
  add(load: () => Promise<UsageUpdateEvent[]>, traceparent?: string): void {
    this.chain = this.chain.then(() => this.publishLoaded(load, traceparent));
  }

  private async publishLoaded(load: () => Promise<UsageUpdateEvent[]>, traceparent?: string): Promise<void> {
    if (this.failure) return;
    try {
      await this.publish(await load(), traceparent);
    } catch (error) {
      this.failure = { error };
      this.onFailure();
    }
  }

  /** Resolves when everything added is published; rejects with the first failure. */
  async settled(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure.error;
  }
}

/** Publishes usage events for billing, warning once per model that has no price. */
export class UsagePublisher {
  /** Models already reported as having no price. */
  private readonly unpriced = new Set<string>();
  /** Events published in one turn of the event loop, by any chat, marked published in one write. */
  private readonly marks: Batcher<UsageMark>;

  constructor(
    private readonly options: { bus: Bus; inbox: ChatInbox; subjects: Subjects; prices: PriceTable; logger: Logger },
  ) {
    this.marks = new Batcher((marks) => options.inbox.markUsagePublished(marks));
  }

  /** Publishes usage events of the chat for billing (each once, by run id), then takes them out of its outbox. */
  async publish(
    tenant: Tenant,
    chatId: string,
    events: readonly UsageUpdateEvent[],
    traceparent?: string,
  ): Promise<void> {
    const { bus, subjects } = this.options;
    for (const event of events) {
      for (const m of event.models) {
        if (!this.options.prices.priceOf(m.model) && !this.unpriced.has(m.model)) {
          this.unpriced.add(m.model);
          this.options.logger.warn(
            { model: m.model },
            'model has no price; its cost is reported as 0 (set MODEL_PRICES)',
          );
        }
      }
      const record: UsageRecord = { v: 1, event };
      // Each billing record continues the trace of the message whose run it bills.
      await bus.publish(subjects.metering(event.app_id), record, {
        msgId: event.run_id,
        headers: { traceparent: childTraceparent(traceparent, `publish ${subjects.allMetering}`) },
      });
      await this.marks.add({ tenant, chatId, eventId: event.event_id });
    }
  }
}
