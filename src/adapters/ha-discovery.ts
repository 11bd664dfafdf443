/**
 * Home Assistant discovery as an adapter the daemon owns (start/stop) and calls through a small interface:
 *   streamSeen(stream, source)   a message with a reading of the stream arrived: once the stream has had
 *                                ANNOUNCE_AFTER_READINGS of them in this run, its two entities' configs are
 *                                published (retained), once; until then it has none (tryout 16, finding 5:
 *                                a junk publisher's one message per new topic made a Home Assistant device each);
 *   announce(stream, source)     the same at once (a stream restored at start that was real already);
 *   restored(streams)            the streams restored at start (their configs may be an earlier run's);
 *   streamForgotten(stream)      the stream is gone: empty retained configs remove the entities, and its
 *                                retained score is cleared (only a stream that had them: announced, or restored);
 *   score(stream, score, ts)     the stream's latest score: published at most once per stream per
 *                                `scoreIntervalMs` (the newest value wins; a timer sends what was held back),
 *                                so a per-reading score costs Home Assistant at most one state a minute;
 *   episodeChanged(stream)       the stream's state was published: when its open episode tells something else than
 *                                the latest score message said, that score is published again at once with it;
 *   homeAssistantStatus(payload) Home Assistant's birth message (`<prefix>/status` `online`, sent when it
 *                                (re)connects): every announced stream's configs are published again, once
 *                                per birth, BIRTH_DELAY_MS after it and at most once per BIRTH_MIN_INTERVAL_MS.
 * The daemon announces the streams restored at start that were real already (announce: their interval was learnt,
 * i.e. they had three readings at least, or they have an open episode), so their entities come back with a broker
 * that lost its retained configs (the embedded broker's retained store dies with the process); another restored
 * stream is announced once it has had ANNOUNCE_AFTER_READINGS in this run.
 * The anomalous/ok status needs nothing here: the binary sensor reads the retained state topic the daemon
 * already publishes. Payloads: src/contract/ha-discovery.ts.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Topics } from '../contract/alerts.js';
import { binarySensorConfig, discoveryTopics, haId, scoreSensorConfig, scorePayload, type DiscoveryContext, type ScoreEpisode } from '../contract/ha-discovery.js';
import { discoveryEnabled } from '../pipeline/ingest-options.js';
import { VERSION } from '../version.js';

export type Publish = (topic: string, payload: string, opts: { readonly qos: 0 | 1; readonly retain: boolean }) => Promise<void>;

export interface HaDiscoveryOptions {
  /** Home Assistant's discovery prefix (`homeassistant`). */
  readonly prefix: string;
  /** Id of this detector in topics and unique ids; must stay the same across restarts. */
  readonly nodeId: string;
  readonly topics: Topics;
  readonly version: string;
  /** Least time between two score messages of one stream (ms); 0 = every score. */
  readonly scoreIntervalMs: number;
  readonly publish: Publish;
  readonly logger: Logger;
  /** Epoch ms. */
  readonly now: () => number;
  /** Streams announced at most (default 10 000): beyond it a stream gets no entities (logged once). */
  readonly maxStreams?: number;
  /**
   * Called when the configs are published again for Home Assistant's birth (after them): the daemon publishes its
   * retained states again too (SensorStatusBoard.republishAll), which a broker that lost its retained store lost.
   */
  readonly onBirth?: () => void;
  /**
   * The stream's open episode when a score of it is published (its id, kind, since and sentence as its record tells
   * them), or null; absent: none is told. Asked at publication (a held-back score tells the episode as it is then).
   */
  readonly episodeOf?: (stream: string) => ScoreEpisode | null;
  /**
   * The stream's latest score known before this run's first (its score in [0, 1] and its reading's time, epoch ms:
   * the newest reading kept with its checkpoint), or null; absent: none. What episodeChanged publishes again after a
   * restart before the stream has read anew, so a score retained by the previous run does not keep telling its episode.
   */
  readonly latestScore?: (stream: string) => { readonly score: number; readonly ts: number } | null;
  /**
   * Whether the stream has no score to show (an on/off stream: its silence and how long it holds a state are judged,
   * not its readings, so its score entity stood `unknown` for ever: tryout 40, finding 11). Such a stream gets its
   * problem entity only: its score entity's config is published empty (retained), which removes one an earlier
   * version left, and no score message is sent. Asked at every publication of its configs; absent: every stream scored.
   */
  readonly unscored?: (stream: string) => boolean;
}

/**
 * Messages with a reading of a stream (in one run) after which it gets its Home Assistant entities: three readings
 * span two of its intervals, the least from which its interval is learnt (src/pipeline/cadence.ts). A topic that
 * carries one message (a junk publisher's new topic per message) never gets any.
 */
export const ANNOUNCE_AFTER_READINGS = 3;

/** How long after Home Assistant's birth message its configs are published again (ms): births close together are answered once. */
export const BIRTH_DELAY_MS = 1000;
/**
 * Least time between two re-publications for birth messages (ms): a client that repeats `online` (a leaked
 * sensor login may publish it on the embedded broker) costs at most two configs per stream this often.
 */
export const BIRTH_MIN_INTERVAL_MS = 30_000;

interface Held {
  score: number;
  ts: number;
}

export class HaDiscovery {
  private readonly ctx: DiscoveryContext;
  private readonly announced = new Map<string, string>();
  /**
   * Streams restored at start that were not announced (yet) in this run: an earlier run (or an earlier version, which
   * announced every stream at its first reading) may have left their configs retained, so their eviction clears them.
   * Bounded by the restored streams (ingest.maxStreams).
   */
  private readonly earlier = new Set<string>();
  /** Streams not announced yet: the messages with a reading of each so far (fewer than ANNOUNCE_AFTER_READINGS). */
  private readonly pending = new Map<string, number>();
  private readonly lastSent = new Map<string, number>();
  /**
   * The latest score sent of each stream and the episode keys it told (ScorePayload's `in_episode`, `anomaly_id`,
   * `episode_*`, as JSON): what episodeChanged sends again when the episode tells something else.
   */
  private readonly lastScore = new Map<string, { readonly score: number; readonly ts: number; readonly episode: string }>();
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | null = null;
  /** The re-publication a birth message asked for, while it waits (BIRTH_DELAY_MS). */
  private birthTimer: NodeJS.Timeout | null = null;
  /** When the configs were last published again for a birth (epoch ms). */
  private lastRepublished = Number.NEGATIVE_INFINITY;
  private running = false;
  private fullLogged = false;

  constructor(private readonly opts: HaDiscoveryOptions) {
    this.ctx = { nodeId: opts.nodeId, topics: opts.topics, version: opts.version };
  }

  /** Starts the timer that sends held-back scores. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.opts.scoreIntervalMs > 0) {
      this.timer = setInterval(() => this.flushHeld(), this.opts.scoreIntervalMs);
      this.timer.unref();
    }
  }

  /** Sends the held-back scores and stops. Idempotent; never throws. Entities stay (their configs are retained). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.birthTimer) clearTimeout(this.birthTimer);
    this.birthTimer = null;
    await Promise.allSettled(this.flushHeld());
  }

  /** The topic of Home Assistant's birth and last will (`<homeassistant.prefix>/status`), which the daemon subscribes to. */
  get birthTopic(): string {
    return birthTopic(this.opts.prefix);
  }

  /**
   * A message on birthTopic: `online` (Home Assistant started or reconnected, and may have lost entities whose
   * configs the broker no longer holds) publishes every announced stream's two configs again, BIRTH_DELAY_MS
   * later and at most once per BIRTH_MIN_INTERVAL_MS (a birth within it is answered when it has passed);
   * anything else (`offline`) is ignored. Home Assistant documents this behaviour for discovery:
   * https://www.home-assistant.io/integrations/mqtt/#birth-and-last-will-messages
   */
  homeAssistantStatus(payload: string): void {
    if (!this.running || payload.trim() !== 'online' || this.birthTimer !== null) return;
    const wait = Math.max(BIRTH_DELAY_MS, this.lastRepublished + BIRTH_MIN_INTERVAL_MS - this.opts.now());
    this.birthTimer = setTimeout(() => {
      this.birthTimer = null;
      if (!this.running) return;
      this.lastRepublished = this.opts.now();
      this.opts.logger.info({ streams: this.announced.size }, 'Home Assistant is online: discovery configs and states published again');
      this.republish();
      this.opts.onBirth?.();
    }, wait);
    this.birthTimer.unref();
  }

  /**
   * Publishes every announced stream's two configs again (retained): Home Assistant's birth, or a reconnection to a
   * broker that kept no session for the daemon and may have lost its retained messages (tryout 18, finding 6).
   * Returns how many streams.
   */
  republish(): number {
    if (!this.running) return 0;
    for (const [stream, src] of this.announced) this.sendConfigs(stream, src);
    return this.announced.size;
  }

  /** Streams with entities. */
  get streams(): number {
    return this.announced.size;
  }

  /**
   * A message with a reading of `stream` (its device `source`, undefined: the stream is its own) arrived: the
   * stream is announced (announce) at its ANNOUNCE_AFTER_READINGS-th such message in this run, counted until then.
   */
  streamSeen(stream: string, source: string | undefined): void {
    if (!this.running || this.announced.has(stream)) return;
    const n = (this.pending.get(stream) ?? 0) + 1;
    if (n < ANNOUNCE_AFTER_READINGS) {
      this.pending.set(stream, n);
      return;
    }
    this.announce(stream, source);
  }

  /**
   * Publishes the stream's two configs (retained, QoS 1) now, once: its entities exist from then on. Beyond
   * `maxStreams` announced streams a stream gets none (logged once).
   */
  announce(stream: string, source: string | undefined): void {
    if (!this.running || this.announced.has(stream)) return;
    this.pending.delete(stream);
    if (this.announced.size >= (this.opts.maxStreams ?? 10_000)) {
      if (!this.fullLogged) this.opts.logger.warn({ streams: this.announced.size }, 'Home Assistant discovery: stream limit reached; further streams get no entities');
      this.fullLogged = true;
      return;
    }
    const src = source ?? stream;
    this.announced.set(stream, src);
    this.sendConfigs(stream, src);
  }

  /** Publishes the stream's two configs (retained, QoS 1); an unscored stream's score config empty (HaDiscoveryOptions.unscored). */
  private sendConfigs(stream: string, source: string): void {
    const t = discoveryTopics(this.opts.prefix, this.opts.nodeId, stream);
    void this.send(t.binarySensor, JSON.stringify(binarySensorConfig(this.ctx, stream, source)), true);
    void this.send(t.sensor, this.scored(stream) ? JSON.stringify(scoreSensorConfig(this.ctx, stream, source)) : '', true);
  }

  private scored(stream: string): boolean {
    return this.opts.unscored?.(stream) !== true;
  }

  /**
   * Streams restored at start (their checkpoints): those this run does not announce may hold configs retained by an
   * earlier run, which their eviction clears (streamForgotten). Call it before announcing the real ones.
   */
  restored(streams: Iterable<string>): void {
    for (const s of streams) this.earlier.add(s);
  }

  /**
   * The stream is gone (evicted): empty retained configs remove its entities, and its retained score is cleared;
   * only for a stream whose configs were published: announced in this run, or restored at start (restored: an
   * earlier run, or an earlier version that announced every stream at its first reading, may have left them),
   * once. A stream that never became entities (a junk topic of one or two messages) gets nothing: tryout 18,
   * finding 5, 10,156 empty retained configs in 3 s after a junk flood of new topics. `operator`: the operator
   * forgot it (`anomalyd sensors forget`, possibly while the daemon was stopped, so this run never restored it):
   * cleared whatever an earlier run may have left.
   */
  streamForgotten(stream: string, operator = false): void {
    if (!this.running) return;
    const had = this.announced.delete(stream) || this.earlier.delete(stream) || operator;
    this.pending.delete(stream);
    this.held.delete(stream);
    this.lastSent.delete(stream);
    this.lastScore.delete(stream);
    if (!had) return;
    const t = discoveryTopics(this.opts.prefix, this.opts.nodeId, stream);
    void this.send(t.binarySensor, '', true);
    void this.send(t.sensor, '', true);
    void this.send(this.opts.topics.score(stream), '', true);
  }

  /** A new score of a stream (see the module comment for the throttling). */
  score(stream: string, score: number, ts: number): void {
    if (!this.running || !this.announced.has(stream) || !this.scored(stream)) return;
    const now = this.opts.now();
    const last = this.lastSent.get(stream);
    if (this.opts.scoreIntervalMs > 0 && last !== undefined && now - last < this.opts.scoreIntervalMs) {
      this.held.set(stream, { score, ts });
      return;
    }
    this.held.delete(stream);
    void this.sendScore(stream, score, ts, now);
  }

  private flushHeld(): Array<Promise<void>> {
    const now = this.opts.now();
    const sent: Array<Promise<void>> = [];
    for (const [stream, h] of this.held) {
      const last = this.lastSent.get(stream) ?? -Infinity;
      if (now - last < this.opts.scoreIntervalMs && this.running) continue;
      this.held.delete(stream);
      sent.push(this.sendScore(stream, h.score, h.ts, now));
    }
    return sent;
  }

  /**
   * The stream's open episode may tell something else than its latest score message says (the daemon calls it as it
   * publishes the stream's state: an episode opened, moved, retold or resolved, also with no new reading: a silence,
   * a device offline). When the episode keys differ, the latest score (a held-back one if any) is published again at
   * once with the episode as it is now, so the score entity's attributes follow the problem entity (tryout 30,
   * finding 7: `in_episode` false while a silence's episode was open). Before the stream's first score of this run,
   * its latest score from before the restart (HaDiscoveryOptions.latestScore) is published with the episode as it is
   * now: the score the previous run retained may tell an episode since resolved, or none where one is open. Nothing
   * for a stream with no score at all.
   */
  episodeChanged(stream: string): void {
    if (!this.running || !this.announced.has(stream) || !this.scored(stream)) return;
    const held = this.held.get(stream);
    const last = this.lastScore.get(stream);
    const latest = held ?? last ?? this.opts.latestScore?.(stream) ?? undefined;
    if (latest === undefined) return;
    const episode = this.opts.episodeOf?.(stream) ?? null;
    if (held === undefined && last !== undefined && last.episode === episodeKeys(episode)) return;
    this.held.delete(stream);
    void this.sendScore(stream, latest.score, latest.ts, this.opts.now(), episode);
  }

  private sendScore(stream: string, score: number, ts: number, now: number, known?: ScoreEpisode | null): Promise<void> {
    this.lastSent.set(stream, now);
    const episode = known !== undefined ? known : (this.opts.episodeOf?.(stream) ?? null);
    this.lastScore.set(stream, { score, ts, episode: episodeKeys(episode) });
    const payload = scorePayload(score, ts, episode);
    return this.send(this.opts.topics.score(stream), JSON.stringify(payload), true);
  }

  private send(topic: string, payload: string, retain: boolean): Promise<void> {
    return this.opts.publish(topic, payload, { qos: 1, retain }).catch((err: unknown) => {
      this.opts.logger.warn({ err, topic }, 'Home Assistant discovery: publish failed');
    });
  }
}

/** What a score payload tells of its episode (its `episode_*` keys), as one string to compare. */
function episodeKeys(episode: ScoreEpisode | null): string {
  const { score: _score, ts: _ts, ...keys } = scorePayload(0, 0, episode);
  return JSON.stringify(keys);
}

/** Home Assistant's birth and last will topic under its discovery prefix (its default: `homeassistant/status`). */
export function birthTopic(discoveryPrefix: string): string {
  return `${discoveryPrefix}/status`;
}

/** The birth topic of the configured discovery prefix (homeassistant.prefix). */
export function birthTopicOf(config: Config): string {
  return birthTopic(config.homeassistant.prefix);
}

/** The node id of this detector: homeassistant.nodeId, else from mqtt.clientId, else anomalyd_<hostname>. */
export function nodeIdOf(config: Config, host = hostname()): string {
  return config.homeassistant.nodeId ?? haId(config.mqtt.clientId ?? `anomalyd_${host}`);
}

/** The daemon's discovery adapter, or null when discovery is off (see homeassistant.discovery). */
export function discoveryFor(
  config: Config,
  topics: Topics,
  publish: Publish,
  logger: Logger,
  now: () => number,
  onBirth?: () => void,
  episodeOf?: (stream: string) => ScoreEpisode | null,
  latestScore?: (stream: string) => { readonly score: number; readonly ts: number } | null,
  unscored?: (stream: string) => boolean,
): HaDiscovery | null {
  if (!discoveryEnabled(config)) return null;
  const h = config.homeassistant;
  return new HaDiscovery({
    prefix: h.prefix,
    nodeId: nodeIdOf(config),
    topics,
    version: VERSION,
    scoreIntervalMs: h.scoreIntervalMs,
    publish,
    logger,
    now,
    maxStreams: config.ingest.maxStreams,
    ...(onBirth !== undefined ? { onBirth } : {}),
    ...(episodeOf !== undefined ? { episodeOf } : {}),
    ...(latestScore !== undefined ? { latestScore } : {}),
    ...(unscored !== undefined ? { unscored } : {}),
  });
}
