import { StoreGroup } from "./group";
import type { ScheduledChange, ScheduleStatus } from "../../contracts/approvals";
import type { Asker } from "../aggregates/protection";
import * as schedules from "../aggregates/schedules";
import type { ChangeMeta } from "../store-types";

/** Changes the alarm applies at a set time (`stub.schedules().create(env, input, asker, meta)`), over `aggregates/schedules.ts`. */
export class SchedulesRpc extends StoreGroup {
  /** Schedules a change for the alarm to apply once at `at`. */
  create(environment: string, input: { at: string; change: ScheduledChange; reason: string }, asker: Asker, meta: ChangeMeta) {
    return schedules.createSchedule(this.w, environment, input, asker, meta);
  }
  /** An environment's scheduled changes, soonest first. */
  list(environment: string, status: ScheduleStatus | null) {
    return schedules.listSchedules(this.w, environment, status);
  }
  /** Cancels a pending scheduled change. */
  cancel(environment: string, id: string, meta: ChangeMeta) {
    return schedules.cancelSchedule(this.w, environment, id, meta);
  }
}
