/**
 * The FlagStore's alarm: one pass applies the scheduled changes that are due (first: "at 09:00"
 * means before anything else of that pass), runs the metric checks that are due (a guardrail may
 * stop a ramp), applies the due ramp steps, announces the due versions to the broadcaster, then
 * performs the due KV rows of the outbox and sends the due webhook deliveries, and arms the alarm
 * for the next queued work. A change made through the admin API has usually been announced before
 * the alarm runs (`UnitOfWork.scheduleDrain` starts that at once); the alarm announces what a
 * reset, a failure or its own scheduled changes left.
 */
import { allowsLocalWebhooks } from "../lib/webhook-url";
import { log } from "../lib/log";
import { checkMetrics } from "./aggregates/metrics";
import { advanceRamps } from "./aggregates/ramps";
import { applyDueSchedules } from "./aggregates/schedules";
import * as webhooks from "./webhooks";
import type { Publisher } from "./replication/publisher";
import type { UnitOfWork } from "./unit-of-work";

/** The alarm's passes for one FlagStore instance, run one at a time. */
export class AlarmPass {
  #draining: Promise<void> | null = null;

  constructor(
    private readonly w: UnitOfWork,
    private readonly publisher: Publisher,
  ) {}

  /**
   * Runs one pass. One pass runs at a time, so KV sees an environment's versions in order; a
   * caller arriving during a pass waits for it and then runs its own.
   */
  async run(): Promise<void> {
    while (this.#draining) await this.#draining;
    this.#draining = this.#once().finally(() => {
      this.#draining = null;
    });
    await this.#draining;
    await this.w.scheduleDrain();
  }

  async #once(): Promise<void> {
    // A scheduled change that throws (its transaction rolled back: nothing applied, nothing marked)
    // must not hold up replication: the rest of the pass runs, then the pass fails so the
    // platform retries the alarm, and the change with it.
    let failed: unknown = null;
    try {
      await applyDueSchedules(this.w);
    } catch (error) {
      failed = error;
      log("error", "scheduled-change-threw", { project: this.w.project(), error: String(error) });
    }
    // Guardrails before steps: a degraded ramp stops where it is rather than taking its next step.
    // A check that throws holds up nothing else; the next pass checks again.
    try {
      await checkMetrics(this.w);
    } catch (error) {
      log("error", "metric-check-threw", { project: this.w.project(), error: String(error) });
    }
    await advanceRamps(this.w);
    // Listeners first: the broadcaster call waits for no KV write.
    await this.publisher.announceDue();
    await this.publisher.publishDue();
    await webhooks.deliverDue(this.w.sql, Date.now(), fetch, allowsLocalWebhooks(this.w.env), this.w.project());
    if (failed !== null) throw failed;
  }
}
