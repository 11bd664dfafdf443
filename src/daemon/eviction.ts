/**
 * Idle sensors are evicted, so that sensors that stop (or were made up by a hostile client) do not hold
 * memory and sensor slots for ever. A sensor is idle when no valid reading of it arrived for
 * `idleAfterIntervals` of its own reading intervals (never less than `idleAfterMinMs`; a sensor whose
 * interval is not known yet, e.g. one with a single reading, is idle after `idleAfterMinMs`). Evicting
 * one: its state is checkpointed (marked evicted: a restart does not bring it back), and every stage forgets it.
 * A valid reading of it later revives it from that checkpoint when young enough, else it starts afresh.
 *
 * An on/off stream whose latest reading is its active state (a leak `on`, a door open) is never evicted either: it
 * holds that state, and an on/off device publishes on change only (tryout 32: a leak held 17 minutes was evicted while
 * on, and left the sensor list); it is asked again at every sweep, and evicted once idle in its rest state.
 *
 * A sensor with an open episode, of any kind, in the detector or in the store, is never evicted, and eviction
 * resolves nothing: a silence alarmed while it lasts (tryout 16, finding 2), an episode of another kind open when
 * the sensor died (tryout 18, finding 1: a pump whose pressure went wild, then its transmitter died; its silence
 * is then told in that episode: StreamScorer.judgeSilence), an episode the store holds open. Its fault is not
 * over because the sensor stopped: evicted, its alert was resolved (score 1, no `resolution`) and it vanished from
 * every glanceable place (the status, the HTTP API, the dashboard, its Home Assistant entities). It keeps its state
 * and its slot (one stream's state, about 20 kB; bounded by ingest.maxStreams, as every stream is) and its silence
 * goes on being judged and told; the sweep asks again at every tick, and evicts it once nothing of it is open (its
 * next reading ends a silence; an episode of a stream whose silence is never rare ends with its readings).
 *
 * Time is the wall clock of arrival (the daemon's `now`), so a device with a wrong clock is judged by when
 * its readings come, not by what they say.
 */
import type { Logger } from 'pino';
import type { AnomalyRecord } from '../contract/store.js';
import type { AnomalyEvent } from '../contract/types.js';
import type { Detector } from '../pipeline/detector.js';
import type { HousekeepingTask } from './housekeeping.js';
import { SummaryLog } from './summary-log.js';

export interface EvictionOptions {
  /** Readings intervals of silence after which a sensor is evicted (limits.idleAfterIntervals). */
  readonly idleAfterIntervals: number;
  /** Never sooner than this, ms; also the idle span of a sensor whose interval is not known (limits.idleAfterMinMs). */
  readonly idleAfterMinMs: number;
  readonly now: () => number;
  /**
   * True while the daemon cannot hear its sensors (Daemon.cannotHear: readings wait unread, its loop saturated,
   * readings in flight, the connection down): a sensor whose readings wait is not idle, and one evicted before its
   * silence could be judged is never told dead, so no sweep runs then.
   */
  readonly busy?: () => boolean;
}

/** What eviction does to the rest of the daemon. */
export interface EvictionDeps {
  /** The sensor's reading interval in ms, or undefined / 0 while it is not known. */
  intervalOf(sensor: string): number | undefined;
  /**
   * How long (ms) a silence of the sensor in its learning period may last before it is told dead
   * (Detector.youngDeathMs; Infinity: no such bound): it is not evicted sooner, so that death is told (a fast
   * report-on-change sensor's 1,000 intervals are hours, `window.learningSilenceMs` a day). Absent: no such wait.
   */
  youngDeathMs?(sensor: string): number;
  /**
   * A sensor seen again that could not be revived from its checkpoint (none, or too old): resolves what the store
   * still holds open of it (a silence alarm left open at its eviction by a version before tryout 16's fix, whose
   * checkpoint is too old to revive); nothing for a sensor with none.
   */
  leftOpen?(sensor: string): void;
  /**
   * True when the sensor has an open episode, of any kind, in the detector or in the store: it is not evicted
   * (see the module comment). Absent: never.
   */
  stillOpen?(sensor: string): boolean;
  /** Checkpoints the sensor's state, marked evicted. */
  checkpoint(sensor: string): void;
  /** Makes every stage (parser, cadence, model state, scores, status, dashboard series, learning) forget it. */
  forget(sensor: string): void;
  /** Restores an evicted sensor from its checkpoint; true when there was one. */
  revive(sensor: string): boolean;
  /** One line per interval, whatever the number of sensors evicted. */
  readonly log: SummaryLog;
}

export class IdleEviction {
  /** Wall-clock arrival of each live sensor's latest valid reading. */
  private readonly lastSeen = new Map<string, number>();
  evicted = 0;
  revived = 0;
  /** Idle sensors the last sweep kept because an episode of theirs is open (EvictionDeps.stillOpen). */
  keptOpen = 0;

  constructor(
    private readonly deps: EvictionDeps,
    private readonly opts: EvictionOptions,
  ) {}

  /**
   * A valid reading of `sensor` arrived now. Call it before the reading reaches the detector: a sensor
   * seen for the first time since its eviction is revived from its checkpoint first. Returns true when it was
   * revived now.
   */
  seen(sensor: string): boolean {
    const now = this.opts.now();
    let revived = false;
    if (!this.lastSeen.has(sensor)) {
      revived = this.deps.revive(sensor);
      if (revived) this.revived++;
      else this.deps.leftOpen?.(sensor);
    }
    this.lastSeen.set(sensor, now);
    return revived;
  }

  /**
   * Sensors restored at start, so they are evicted too if they never come back: each idle from `arrivedAt(sensor)`
   * (epoch ms on `now`'s clock: when its latest reading arrived, as its checkpoint carries it, the daemon's downtime
   * not counted; SensorStatusBoard.restoreArrival), so a sensor silent at the stop is not given a new idle span
   * by each restart (tryout 16, finding 5); as if seen now when `arrivedAt` is absent or gives undefined.
   */
  track(sensors: Iterable<string>, arrivedAt?: (sensor: string) => number | undefined): void {
    const now = this.opts.now();
    for (const s of sensors) {
      if (this.lastSeen.has(s)) continue;
      const at = arrivedAt?.(s);
      this.lastSeen.set(s, at !== undefined && Number.isFinite(at) ? Math.min(at, now) : now);
    }
  }

  /**
   * Stops tracking a sensor the operator forgot (src/daemon/forget.ts): its next reading is a first one (revive()
   * finds no checkpoint: it starts afresh).
   */
  drop(sensor: string): void {
    this.lastSeen.delete(sensor);
  }

  /** Sensors being tracked (for tests and status). */
  get size(): number {
    return this.lastSeen.size;
  }

  /** The idle span of a sensor, ms. */
  idleSpan(sensor: string): number {
    const interval = this.deps.intervalOf(sensor);
    const byInterval = interval !== undefined && interval > 0 ? interval * this.opts.idleAfterIntervals : 0;
    // A young sensor is kept until a minute after its silence would be told dead (its open alert keeps it from then on),
    // so that judgement comes first.
    const young = this.deps.youngDeathMs?.(sensor) ?? Number.POSITIVE_INFINITY;
    const byYoung = Number.isFinite(young) ? young + 60_000 : 0;
    return Math.max(this.opts.idleAfterMinMs, byInterval, byYoung);
  }

  /** Evicts every sensor idle at now (none while the daemon is behind with its input); returns how many. */
  sweep(): number {
    if (this.opts.busy?.() === true) return 0;
    const now = this.opts.now();
    let n = 0;
    let kept = 0;
    for (const [sensor, at] of this.lastSeen) {
      const span = this.idleSpan(sensor);
      if (now - at < span) continue;
      // Its alert stays open: the sensor stays listed (and judged); asked again at the next sweep.
      if (this.deps.stillOpen?.(sensor) === true) {
        kept++;
        continue;
      }
      this.lastSeen.delete(sensor);
      this.deps.checkpoint(sensor);
      this.deps.forget(sensor);
      n++;
      this.deps.log.note(now, { sensor: sensor.slice(0, 128), idleMs: now - at, idleSpanMs: span });
    }
    this.evicted += n;
    this.keptOpen = kept;
    this.deps.log.drain(now);
    return n;
  }

  task(): HousekeepingTask {
    return { name: 'idle sensors', run: () => void this.sweep() };
  }
}

/** A stored episode as its resolve event: how an episode no lifecycle will finish is closed (at start, at a sensor's return without its state). */
export function storedResolveEvent(a: AnomalyRecord): AnomalyEvent {
  return {
    kind: 'resolve',
    sensor: a.sensor,
    anomalyId: a.id,
    startTs: a.startTs,
    endTs: a.endTs,
    peakScore: a.peakScore,
    score: a.lastScore,
    threshold: a.threshold,
    modelId: a.model,
    paddedFraction: a.paddedFraction,
    channelErrors: a.channels.map((c) => c.error),
    channels: a.channels.map((c) => c.name),
    windows: a.windows,
  };
}

/** The parts of the daemon eviction works on. */
export interface EvictionWiring {
  /**
   * The detector (src/pipeline/detector.ts): each stream's interval as its cadence learnt it, its open
   * episode, and forget() (parser slot, cadence, model state, score state).
   */
  readonly detector: Pick<Detector, 'intervalOf' | 'openAnomaly' | 'forget'> & Partial<Pick<Detector, 'oneShot' | 'youngDeathMs'>>;
  readonly board: { forget(sensor: string): void } | null;
  /** Per-stream state beyond the detector: the dashboard's series (built later, hence a getter). */
  readonly others: () => ReadonlyArray<{ forget(sensor: string): void } | null>;
  readonly learner: { forget(sensor: string): void } | null;
  /** Home Assistant discovery, when on: an evicted stream's entities are removed (built after eviction, hence a getter). */
  readonly discovery?: () => { streamForgotten(sensor: string): void } | null;
  /**
   * Whether the stream's device says it is offline now (DeviceAvailability: its device_offline episode is open): an
   * episode of the stream's too, so the stream is kept (its Home Assistant problem entity tells that episode).
   */
  readonly deviceOffline?: (sensor: string) => boolean;
  /**
   * Whether the stream is an on/off one whose latest reading is its active state (a leak `on`, a door open): it holds
   * that state, it is not idle (an on/off stream publishes on change: a leak held for an hour sends nothing), so it is
   * kept (tryout 32: `bath_leak` evicted while on). Absent: never.
   */
  readonly holdsActive?: (sensor: string) => boolean;
  readonly checkpoints: { saveEvicted(sensor: string): boolean; revive(sensor: string): boolean };
  readonly store: {
    listAnomalies(q: { readonly sensor: string; readonly status: 'open'; readonly limit: number }): AnomalyRecord[];
    recordEvent(ev: AnomalyEvent, topic: string, explanation?: AnomalyRecord['explanation']): unknown;
  };
  readonly alertTopic: (sensor: string) => string;
  readonly log: Logger;
}

/** Builds the daemon's IdleEviction from its detector, board, series, learner, checkpoints and store. */
export function idleEvictionFor(w: EvictionWiring, opts: EvictionOptions & { readonly logIntervalMs: number }): IdleEviction {
  const { detector } = w;
  return new IdleEviction(
    {
      intervalOf: (sensor) => detector.intervalOf(sensor),
      ...(detector.youngDeathMs !== undefined ? { youngDeathMs: (sensor: string) => detector.youngDeathMs!(sensor) } : {}),
      // Open in the detector (an alarm: a silent episode the recent history alone opened is none), or in the store
      // (an episode no detector holds: a sensor restored without it). A store that cannot answer keeps the sensor.
      stillOpen: (sensor) => {
        if (detector.openAnomaly(sensor) !== null || w.deviceOffline?.(sensor) === true || w.holdsActive?.(sensor) === true) return true;
        try {
          return w.store.listAnomalies({ sensor, status: 'open', limit: 1 }).length > 0;
        } catch (err) {
          w.log.error({ err, sensor }, 'could not ask the store for an idle sensor’s open episodes: kept');
          return true;
        }
      },
      leftOpen: (sensor) => {
        for (const a of w.store.listAnomalies({ sensor, status: 'open', limit: 100 })) {
          try {
            w.store.recordEvent({ ...storedResolveEvent(a), resolution: 'interrupted' }, w.alertTopic(sensor), a.explanation);
            w.log.info({ sensor, anomalyId: a.id }, 'episode left open at the sensor’s eviction (a silence): resolved at its return');
          } catch (err) {
            w.log.error({ err, sensor, anomalyId: a.id }, 'could not resolve the episode left open of a returning sensor');
          }
        }
      },
      // A stream heard once at one time (a one-shot topic) leaves nothing worth reviving (src/pipeline/admit.ts,
      // Admission.oneShot); a history backfilled in one message does.
      checkpoint: (sensor) => void (detector.oneShot?.(sensor) === true ? false : w.checkpoints.saveEvicted(sensor)),
      forget: (sensor) => {
        detector.forget(sensor);
        w.board?.forget(sensor);
        for (const o of w.others()) o?.forget(sensor);
        w.learner?.forget(sensor);
        w.discovery?.()?.streamForgotten(sensor);
      },
      revive: (sensor) => w.checkpoints.revive(sensor),
      log: new SummaryLog(w.log, 'info', 'idle sensor evicted (state checkpointed, slot freed)', opts.logIntervalMs),
    },
    opts,
  );
}
