/**
 * Fields of one device that go wrong together are ONE alert, not one per field (tryout 37, finding 10: a 2500 W spike
 * on a Tasmota plug gave 4 alerts, Power, ApparentPower, ReactivePower and Current; a frozen meter 5). A device's
 * silence is one already (src/daemon/device-silence.ts); this is the same for the other kinds. docs/ALERTS.md,
 * "Fields of a device that go wrong together".
 *
 * Each field's episode still opens, grows and ends as the detector says, and is stored, listed and shown as its own
 * (history, GET /api/anomalies, the page: every stream's episodes as before). What changes is what is alerted:
 *
 * - The open of an episode of a stream of a device of several streams is held until the end of the turn of the event
 *   loop it came in (`hold`, then `flush` from setImmediate): the fields of one message (a Tasmota `SENSOR`, a
 *   zigbee2mqtt state) are scored together, so their opens come in one turn. At the flush the device's opens are
 *   grouped: the first is the **lead**, alerted as before on its own topic, its alert naming every field it tells
 *   (AlertPayload `device` and `fields`, its sentence `…; with 3 more fields of plug2: ENERGY.ApparentPower, …`);
 *   the others are its **members**: stored with `toldWith` the lead's id, never alerted (no open, update or resolve
 *   of theirs is sent).
 * - A later open of the device's joins an open lead's group when it opened within JOIN_READINGS of the device's
 *   readings of the lead's open, or what it tells began within as many of what the lead tells (its explanation's
 *   `since`: a frozen meter's fields are told stuck at different readings, their runs began together). It is stored
 *   as a member, not alerted; the lead's next alert (an update by the usual rules, or its resolve) names it, and its
 *   record (`together`) at once.
 * - The lead's resolve waits for its members: while one is open the lead's resolve is held (not stored), and stored,
 *   then alerted, when its last member ends, its `end` the later of the two; so the device is not told well while a
 *   field of the fault is still open. A stop stores a held resolve as it stands.
 *
 * Store, then alert, as every event: a held open is stored (with its outbox row) at the flush, before any later event
 * of its episode (the flush runs first: `flushFor`). Across a restart a member restored open by the detector stays a
 * member (its record's `toldWith`); one the detector lost is resolved at start unsent, as its open was; a lead left
 * open is resolved at start as any episode.
 *
 * Not grouped: a device of one stream, a device's own episodes (a silence of all its fields, a `device_offline`), a
 * field's silence (device-silence.ts judges those), and nothing in replay or evaluation (the daemon only).
 */
import type { Logger } from 'pino';
import type { AlertExplanation } from '../contract/alerts.js';
import type { AlertField, AnomalyEvent } from '../contract/types.js';

/**
 * How near, in the device's readings (its fields' widest learnt interval), two fields' episodes open, or their faults
 * begin, to be told as one: "a few of its readings", so one fault's fields, scored at one message or told a reading or
 * two apart, are one alert, and two faults minutes apart on a 10 s plug are two.
 */
export const JOIN_READINGS = 3;

/** What the book needs of the daemon. */
export interface DeviceFaultsWiring {
  /** The streams of `device` anomalyd knows now. */
  readonly streamsOf: (device: string) => readonly string[];
  /** The stream's learnt reading interval (ms; 0 or undefined while unknown). */
  readonly intervalOf: (stream: string) => number | undefined;
  /** Stores, then alerts (unless a member's), one event (Daemon.recordEvent); false when the store refused it. */
  readonly record: (ev: AnomalyEvent, explanation: AlertExplanation | null) => boolean;
  /** Runs `fn` once the current turn of the event loop is over (setImmediate). */
  readonly later: (fn: () => void) => void;
  readonly log: Logger;
}

/** An open held until the end of its turn. */
interface Held {
  readonly ev: AnomalyEvent;
  readonly explanation: AlertExplanation | null;
  readonly stream: string;
}

/** A lead's group: the lead's episode and its members. */
interface Group {
  readonly leadId: string;
  readonly lead: string;
  readonly device: string;
  /** The lead's open (epoch ms, data time) and when what it tells began (its explanation's `since`, else its start). */
  readonly openedAt: number;
  readonly began: number;
  /** Every field it tells, in the order they opened, the lead first (AlertPayload.fields). */
  readonly fields: AlertField[];
  /** The members still open. */
  readonly open: Set<string>;
  /** The lead's resolve, held while a member is open. */
  ended: { readonly ev: AnomalyEvent; readonly explanation: AlertExplanation | null } | null;
  /** The lead's resolve is stored (or the lead is gone): the group takes no new member. */
  closed: boolean;
}

/**
 * The groups of episodes of one device's fields told in one alert (see the module comment). Bounded by the open
 * episodes: one group per open lead, one entry per open member, the opens of one turn.
 */
export class DeviceFaults {
  private readonly held = new Map<string, Held[]>();
  private readonly heldIds = new Set<string>();
  private scheduled = false;
  /** Lead id → its group. */
  private readonly groups = new Map<string, Group>();
  /** Member id → its lead's id. */
  private readonly memberOf = new Map<string, string>();
  /** Device → its latest group (the one a new open may join). */
  private readonly latest = new Map<string, string>();

  constructor(private readonly w: DeviceFaultsWiring) {}

  /**
   * Whether the open `ev` of `stream` (of device `device`) is grouped here (held until the end of the turn): an open
   * of a stream of a device of at least two streams, not a silence's. False: the caller records it as before.
   */
  hold(ev: AnomalyEvent, explanation: AlertExplanation | null, stream: string, device: string): boolean {
    if (ev.kind !== 'open' || device === stream || explanation?.kind === 'missing_data') return false;
    if (this.w.streamsOf(device).length < 2) return false;
    const list = this.held.get(device);
    if (list === undefined) this.held.set(device, [{ ev, explanation, stream }]);
    else list.push({ ev, explanation, stream });
    this.heldIds.add(ev.anomalyId);
    if (!this.scheduled) {
      this.scheduled = true;
      this.w.later(() => this.flush());
    }
    return true;
  }

  /** Whether an open is held now (an event of its episode must wait for the flush: flushFor). */
  holding(anomalyId: string): boolean {
    return this.heldIds.has(anomalyId);
  }

  /** Stores the held opens now when `anomalyId`'s open is one of them (before another event of its episode). */
  flushFor(anomalyId: string): void {
    if (this.heldIds.has(anomalyId)) this.flush();
  }

  /** Stores every held open now, grouped by device (its turn is over, or a stop or a later event needs it stored). */
  flush(): void {
    this.scheduled = false;
    if (this.held.size === 0) return;
    const held = [...this.held.entries()];
    this.held.clear();
    this.heldIds.clear();
    for (const [device, opens] of held) {
      opens.sort((a, b) => a.ev.startTs - b.ev.startTs);
      // Each open joins the device's open group when near it, else leads a group of its own; the group's lead is
      // stored first, naming the members of this turn, then they (store, then alert: the lead's alert names them).
      const at: { pending: { group: Group; lead: Held | null; members: Held[] } | null } = { pending: null };
      const store = (): void => {
        if (at.pending === null) return;
        const { group, lead, members } = at.pending;
        at.pending = null;
        for (const m of members) group.fields.push(field(m));
        if (lead !== null && !this.w.record({ ...lead.ev, together: [...group.fields] }, lead.explanation)) {
          // The store refused the lead's open (already stored): its members are told on their own.
          this.drop(group);
          for (const m of members) this.w.record(m.ev, m.explanation);
          return;
        }
        for (const m of members) {
          this.memberOf.set(m.ev.anomalyId, group.leadId);
          group.open.add(m.ev.anomalyId);
          if (!this.w.record({ ...m.ev, toldWith: group.leadId }, m.explanation)) {
            this.memberOf.delete(m.ev.anomalyId);
            group.open.delete(m.ev.anomalyId);
          }
        }
        if (members.length > 0) this.w.log.debug({ device, lead: group.lead, leadId: group.leadId, fields: group.fields.map((f) => f.stream) }, 'fields of a device that opened together: told in one alert');
      };
      for (const h of opens) {
        const current: Group | null = at.pending?.group ?? this.joinable(device);
        if (current !== null && this.near(current, h)) {
          if (at.pending?.group !== current) {
            store();
            at.pending = { group: current, lead: null, members: [] };
          }
          at.pending.members.push(h);
          continue;
        }
        store();
        const group: Group = {
          leadId: h.ev.anomalyId,
          lead: h.stream,
          device,
          openedAt: h.ev.startTs,
          began: beganAt(h),
          fields: [field(h)],
          open: new Set(),
          ended: null,
          closed: false,
        };
        this.groups.set(group.leadId, group);
        this.latest.set(device, group.leadId);
        at.pending = { group, lead: h, members: [] };
      }
      store();
    }
  }

  /**
   * The group an event of episode `anomalyId` belongs to as lead, with every field it tells, or null: its alert names
   * them (AlertPayload.fields) once it has members.
   */
  together(anomalyId: string): readonly AlertField[] | null {
    const g = this.groups.get(anomalyId);
    return g === undefined || g.fields.length < 2 ? null : g.fields;
  }

  /** The lead whose alert tells member `anomalyId` (its events stored, not alerted), or undefined when no member. */
  leadOf(anomalyId: string): string | undefined {
    return this.memberOf.get(anomalyId);
  }

  /**
   * The lead `ev.anomalyId` resolved: true when its resolve is held (a member of its group is still open: stored, then
   * alerted, when the last one ends); false: record it now (its group is over).
   */
  leadEnded(ev: AnomalyEvent, explanation: AlertExplanation | null): boolean {
    const g = this.groups.get(ev.anomalyId);
    if (g === undefined || ev.kind !== 'resolve') return false;
    if (g.open.size === 0) {
      this.drop(g);
      return false;
    }
    g.ended = { ev, explanation };
    g.closed = true;
    return true;
  }

  /** Member `anomalyId`'s resolve is stored at `endTs` (epoch ms): its lead's held resolve follows once none is open. */
  memberEnded(anomalyId: string, endTs: number): void {
    const leadId = this.memberOf.get(anomalyId);
    if (leadId === undefined) return;
    this.memberOf.delete(anomalyId);
    const g = this.groups.get(leadId);
    if (g === undefined) return;
    g.open.delete(anomalyId);
    if (g.open.size > 0) return;
    // A group whose lead's resolve is stored already (restored at start after it): nothing more to tell.
    if (g.ended === null) {
      if (g.closed) this.drop(g);
      return;
    }
    const { ev, explanation } = g.ended;
    this.drop(g);
    // The device's fault ended with its last field's: the lead's end is the later of the two.
    this.w.record({ ...ev, endTs: Math.max(ev.endTs, endTs), together: [...g.fields] }, explanation);
  }

  /**
   * Episode `anomalyId` ended outside the detector's course (the operator forgot its stream: its resolve `forgotten`
   * stored and sent by the caller): a lead's group takes no new member and holds no resolve; a member is ended.
   */
  gone(anomalyId: string, endTs: number): void {
    const g = this.groups.get(anomalyId);
    if (g !== undefined) {
      g.ended = null;
      g.closed = true;
      if (g.open.size === 0) this.drop(g);
      return;
    }
    this.memberEnded(anomalyId, endTs);
  }

  /** Stores every held resolve as it stands (a stop): its members' episodes go on in the store only. */
  settle(): void {
    this.flush();
    for (const g of [...this.groups.values()]) {
      if (g.ended === null) continue;
      const { ev, explanation } = g.ended;
      this.drop(g);
      this.w.record({ ...ev, together: [...g.fields] }, explanation);
    }
  }

  /** Takes back a member restored open by the detector at start (its record's `toldWith` is `leadId`). */
  restoreMember(leadId: string, anomalyId: string, stream: string, device: string, kind: string | null, leadOpen: boolean): void {
    let g = this.groups.get(leadId);
    if (g === undefined) {
      g = { leadId, lead: '', device, openedAt: 0, began: 0, fields: [], open: new Set(), ended: null, closed: !leadOpen };
      this.groups.set(leadId, g);
    }
    g.fields.push({ stream, anomaly_id: anomalyId, kind });
    g.open.add(anomalyId);
    this.memberOf.set(anomalyId, leadId);
  }

  /** Takes back a lead restored open at start with the members restored before it (restoreMember). */
  restoreLead(leadId: string, stream: string, device: string, openedAt: number, began: number, kind: string | null): void {
    const g = this.groups.get(leadId);
    const members = g?.fields ?? [];
    const group: Group = {
      leadId,
      lead: stream,
      device,
      openedAt,
      began,
      fields: [{ stream, anomaly_id: leadId, kind }, ...members],
      open: g?.open ?? new Set(),
      ended: null,
      closed: false,
    };
    this.groups.set(leadId, group);
    this.latest.set(device, leadId);
  }

  /** The device's group an open may join: its latest, while its lead is open. */
  private joinable(device: string): Group | null {
    const id = this.latest.get(device);
    const g = id === undefined ? undefined : this.groups.get(id);
    return g === undefined || g.closed || g.lead === '' ? null : g;
  }

  /** Whether `h` opened, or what it tells began, within JOIN_READINGS of the device's readings of the group's lead. */
  private near(g: Group, h: Held): boolean {
    let interval = 0;
    for (const s of this.w.streamsOf(g.device)) interval = Math.max(interval, this.w.intervalOf(s) ?? 0);
    if (!(interval > 0)) return h.ev.startTs === g.openedAt;
    const span = JOIN_READINGS * interval;
    return Math.abs(h.ev.startTs - g.openedAt) <= span || Math.abs(beganAt(h) - g.began) <= span;
  }

  private drop(g: Group): void {
    this.groups.delete(g.leadId);
    for (const id of g.open) this.memberOf.delete(id);
    if (this.latest.get(g.device) === g.leadId) this.latest.delete(g.device);
  }
}

/** The field an open tells (AlertField). */
function field(h: Held): AlertField {
  return { stream: h.stream, anomaly_id: h.ev.anomalyId, kind: h.explanation?.kind ?? null };
}

/** When what an open tells began (its explanation's `since`, epoch ms), else its start. */
function beganAt(h: Held): number {
  const since = h.explanation?.since;
  const t = since === undefined ? NaN : Date.parse(since);
  return Number.isFinite(t) ? t : h.ev.startTs;
}

/**
 * The sentence of a lead's alert that tells other fields of its device: its own, then `; with 3 more fields of plug2:
 * ENERGY.ApparentPower, ENERGY.ReactivePower, ENERGY.Current` (each named within its device when it is one of its).
 */
export function togetherSentence(sentence: string, device: string, fields: readonly AlertField[]): string {
  const others = fields.slice(1).map((f) => (f.stream.startsWith(`${device}/`) ? f.stream.slice(device.length + 1) : f.stream));
  if (others.length === 0) return sentence;
  return `${sentence}; with ${others.length} more field${others.length === 1 ? '' : 's'} of ${device}: ${others.join(', ')}`;
}
