/**
 * Operator commands over MQTT: acknowledging an anomaly, marking it a false alarm, or clearing the mark.
 *
 *   <prefix>/cmd/ack/<anomaly_id>/<operator>          payload: empty, or {"note": "..."}
 *   <prefix>/cmd/false_alarm/<anomaly_id>/<operator>  payload: empty, or {"note": "..."}
 *   <prefix>/cmd/unmark/<anomaly_id>/<operator>       payload: empty (or {})
 *
 * `<operator>` is the publisher's MQTT username, and the operator path: the embedded broker lets the
 * operator login publish only under its own name, and the shipped mosquitto ACL does the same for each
 * operator user (`deploy/mosquitto/`), so the name in the topic says who did it. A command naming no
 * operator, or one the daemon is not configured to accept, is ignored (counted, logged once per
 * interval, never answered): it did not come through the operator path.
 *
 * Every handled command gets one reply on `<prefix>/cmd/result` (QoS 1, not retained). The reply topic
 * lies under the daemon's own `<prefix>/cmd/#` subscription, so messages on it are ignored, never
 * answered: MQTT 3.1.1 has no "no local" option, and answering our own replies would loop forever.
 *
 * parseCommand is pure; CommandHandler applies a parsed command through an injected store and publisher.
 */
import type { Logger } from 'pino';

export type CommandVerb = 'ack' | 'false_alarm' | 'unmark';
/** The same values as the store's AnomalyMark; restated here because pipeline code does not import adapters. */
export type CommandMark = 'ack' | 'false_alarm';

export interface Command {
  readonly verb: CommandVerb;
  readonly anomalyId: string;
  /** The operator's MQTT username, from the topic's last level. */
  readonly operator: string;
  /** Operator's note; always null for unmark. */
  readonly note: string | null;
}

export type CommandErrorReason =
  /** Not under `<prefix>/cmd/`, or the reply topic: not for the handler at all. */
  | 'not_a_command'
  | 'unknown_verb'
  | 'bad_topic'
  | 'bad_anomaly_id'
  /** No operator level, or one the daemon does not accept: ignored, never answered. */
  | 'not_operator'
  | 'bad_payload'
  | 'retained'
  | 'unknown_anomaly'
  | 'store_failed';

export interface CommandFailure {
  readonly ok: false;
  readonly reason: CommandErrorReason;
  readonly detail: string;
}

export type ParsedCommand = { readonly ok: true; readonly command: Command } | CommandFailure;

/** JSON on `<prefix>/cmd/result`. */
export interface CommandResultPayload {
  readonly ok: boolean;
  /** null when the topic did not name a known verb. */
  readonly command: CommandVerb | null;
  readonly anomaly_id: string | null;
  /** The operator who sent it (the topic's last level). */
  readonly by: string | null;
  /** The mark now stored, on success. */
  readonly mark?: CommandMark | null;
  readonly note?: string | null;
  readonly error?: CommandErrorReason;
  readonly detail?: string;
  /** When the daemon handled it, ISO 8601. */
  readonly ts: string;
}

export const MAX_NOTE_CHARS = 1000;
/** Larger payloads are refused before parsing: a note is a sentence, not a file. */
export const MAX_COMMAND_PAYLOAD_BYTES = 4096;
/** Every command verb, as it appears in the topic. */
export const COMMAND_VERBS: readonly CommandVerb[] = ['ack', 'false_alarm', 'unmark'];
const VERBS = COMMAND_VERBS;
/** Generated ids are UUIDs; ULIDs and operator-typed ids fit this too. No '/', '+', '#' (topic level). */
const ANOMALY_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const RESULT_LEVEL = 'result';

/** The subscription filter that covers every command: `<prefix>/cmd/#`. */
export function commandFilter(prefix: string): string {
  return `${prefix}/cmd/#`;
}

export function commandResultTopic(prefix: string): string {
  return `${prefix}/cmd/${RESULT_LEVEL}`;
}

/** True for every topic the command handler owns (including its reply topic, which it ignores). */
export function isCommandTopic(prefix: string, topic: string): boolean {
  return topic.startsWith(`${prefix}/cmd/`);
}

/**
 * The operator a command topic names (its last level, `<prefix>/cmd/<verb>/<anomaly_id>/<operator>`),
 * or null when it names none. Only the level count is checked, so a malformed command from an operator
 * is still answered.
 */
export function operatorOf(prefix: string, topic: string): string | null {
  if (!isCommandTopic(prefix, topic)) return null;
  const levels = topic.slice(`${prefix}/cmd/`.length).split('/');
  return levels.length === 3 && levels[2] !== '' ? levels[2] : null;
}

/** Parses and validates one command message. Pure. */
export function parseCommand(prefix: string, topic: string, payload: Buffer): ParsedCommand {
  if (!isCommandTopic(prefix, topic) || topic === commandResultTopic(prefix)) {
    return fail('not_a_command', `not a command topic: ${preview(topic)}`);
  }
  const levels = topic.slice(`${prefix}/cmd/`.length).split('/');
  const operator = operatorOf(prefix, topic);
  if (operator === null) return fail('not_operator', `expected ${prefix}/cmd/<verb>/<anomaly_id>/<operator>`);
  const verb = VERBS.find((v) => v === levels[0]);
  if (verb === undefined) return fail('unknown_verb', `unknown command ${preview(levels[0])}; expected one of ${VERBS.join(', ')}`);
  const anomalyId = levels[1];
  if (!ANOMALY_ID.test(anomalyId)) return fail('bad_anomaly_id', `invalid anomaly id ${preview(anomalyId)}`);
  const note = parseNote(verb, payload);
  if (!note.ok) return note;
  return { ok: true, command: { verb, anomalyId, operator, note: note.note } };
}

/** The anomaly id a topic names, if it has one, so even a rejected command's reply can say which it was about. */
export function anomalyIdOf(prefix: string, topic: string): string | null {
  if (!isCommandTopic(prefix, topic)) return null;
  const levels = topic.slice(`${prefix}/cmd/`.length).split('/');
  return levels.length === 3 && ANOMALY_ID.test(levels[1]) ? levels[1] : null;
}

function verbOf(prefix: string, topic: string): CommandVerb | null {
  if (!isCommandTopic(prefix, topic)) return null;
  const first = topic.slice(`${prefix}/cmd/`.length).split('/')[0];
  return VERBS.find((v) => v === first) ?? null;
}

type NoteOrError = { readonly ok: true; readonly note: string | null } | CommandFailure;

function parseNote(verb: CommandVerb, payload: Buffer): NoteOrError {
  if (payload.length > MAX_COMMAND_PAYLOAD_BYTES) return fail('bad_payload', `payload of ${payload.length} bytes exceeds ${MAX_COMMAND_PAYLOAD_BYTES}`);
  const text = payload.toString('utf8').trim();
  if (text === '') return { ok: true, note: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('bad_payload', 'payload must be empty or a JSON object such as {"note": "..."}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return fail('bad_payload', 'payload must be empty or a JSON object such as {"note": "..."}');
  }
  // Unknown fields are refused rather than ignored: a misspelt "note" should not vanish silently.
  const allowed = verb === 'unmark' ? [] : ['note'];
  const unknown = Object.keys(parsed).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    const what = verb === 'unmark' ? 'unmark takes no fields' : 'the only field is "note"';
    return fail('bad_payload', `unknown field ${preview(unknown[0])}: ${what}`);
  }
  const note: unknown = (parsed as Record<string, unknown>).note;
  if (note === undefined || note === null) return { ok: true, note: null };
  if (typeof note !== 'string') return fail('bad_payload', '"note" must be a string');
  const trimmed = note.trim();
  if (trimmed.length > MAX_NOTE_CHARS) return fail('bad_payload', `"note" is longer than ${MAX_NOTE_CHARS} characters`);
  return { ok: true, note: trimmed === '' ? null : trimmed };
}

function fail(reason: CommandErrorReason, detail: string): CommandFailure {
  return { ok: false, reason, detail };
}

function preview(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

/** The mark a verb stores (unmark clears it). */
export function markOf(verb: CommandVerb): CommandMark | null {
  switch (verb) {
    case 'ack':
      return 'ack';
    case 'false_alarm':
      return 'false_alarm';
    case 'unmark':
      return null;
  }
}

/** The slice of the store a command needs (SqliteStore fits). `by` is recorded in the anomaly's mark history. */
export interface MarkStore {
  markAnomaly(id: string, mark: CommandMark | null, note: string | null, by: string): boolean;
}

/** Publishes a reply; resolves when the broker took it. */
export type CommandPublish = (topic: string, payload: string) => Promise<void>;

export interface CommandHandlerOptions {
  readonly prefix: string;
  /** MQTT usernames whose commands are accepted (the operator path); anything else is ignored. */
  readonly operators: ReadonlySet<string>;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  readonly now?: () => number;
  /** Least time between two log lines about ignored (non-operator) commands; default 60 s. */
  readonly ignoredLogIntervalMs?: number;
}

export interface HandleOptions {
  /**
   * A retained command would be re-applied at every reconnect (undoing a later CLI unmark, say), so it
   * is refused. Pass the MQTT packet's retain flag.
   */
  readonly retain?: boolean;
}

export type CommandOutcome =
  | { readonly kind: 'ignored' }
  /** Not through the operator path: counted, logged once per interval, not answered. */
  | { readonly kind: 'unauthorised'; readonly detail: string }
  | { readonly kind: 'applied'; readonly command: Command }
  | { readonly kind: 'rejected'; readonly reason: CommandErrorReason; readonly detail: string };
type HandledOutcome = Exclude<CommandOutcome, { readonly kind: 'ignored' } | { readonly kind: 'unauthorised' }>;

/**
 * Applies command messages to the store and replies on `<prefix>/cmd/result`.
 * The daemon calls handle() for every message whose topic passes isCommandTopic().
 */
export class CommandHandler {
  private readonly now: () => number;
  readonly resultTopic: string;
  /** `<prefix>/cmd/`: what a command topic starts with (built once, not per message). */
  private readonly commandPrefix: string;
  /** Commands ignored because they did not come through the operator path. */
  unauthorised = 0;
  private unauthorisedLogged = 0;
  private unauthorisedLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: MarkStore,
    private readonly publish: CommandPublish,
    private readonly opts: CommandHandlerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.resultTopic = commandResultTopic(opts.prefix);
    this.commandPrefix = `${opts.prefix}/cmd/`;
  }

  /** True for the topics handle() owns. */
  matches(topic: string): boolean {
    // isCommandTopic(prefix, topic), with the prefix's string built once: this runs for every message.
    return topic.startsWith(this.commandPrefix);
  }

  /** Never rejects: a failed reply is logged, and the store's verdict stands either way. */
  async handle(topic: string, payload: Buffer, options: HandleOptions = {}): Promise<CommandOutcome> {
    if (topic === this.resultTopic || !this.matches(topic)) return { kind: 'ignored' };
    const operator = operatorOf(this.opts.prefix, topic);
    if (operator === null || !this.opts.operators.has(operator)) {
      const detail = operator === null ? 'no operator level in the topic' : `${preview(operator)} is not a configured operator`;
      this.noteUnauthorised(topic, detail);
      return { kind: 'unauthorised', detail };
    }
    const outcome = this.apply(topic, payload, options);
    const log = this.opts.logger;
    if (outcome.kind === 'applied') {
      const c = outcome.command;
      log.info({ command: c.verb, anomalyId: c.anomalyId, note: c.note, by: c.operator }, 'operator command applied');
    } else {
      log.warn({ topic, reason: outcome.reason, detail: outcome.detail, by: operator }, 'operator command rejected');
    }
    await this.reply(this.resultFor(topic, operator, outcome));
    return outcome;
  }

  /** One warn line per interval however many arrive: a flood of forged commands must not flood the log. */
  private noteUnauthorised(topic: string, detail: string): void {
    this.unauthorised++;
    const now = this.now();
    if (now - this.unauthorisedLoggedAt < (this.opts.ignoredLogIntervalMs ?? 60_000)) return;
    this.opts.logger.warn(
      { topic: topic.slice(0, 200), detail, ignored: this.unauthorised - this.unauthorisedLogged },
      'command ignored: it did not come through the operator path (check the broker ACL)',
    );
    this.unauthorisedLogged = this.unauthorised;
    this.unauthorisedLoggedAt = now;
  }

  private apply(topic: string, payload: Buffer, options: HandleOptions): HandledOutcome {
    if (options.retain === true) {
      return { kind: 'rejected', reason: 'retained', detail: 'retained commands are refused; publish commands with retain=false' };
    }
    const parsed = parseCommand(this.opts.prefix, topic, payload);
    if (!parsed.ok) return { kind: 'rejected', reason: parsed.reason, detail: parsed.detail };
    const { command } = parsed;
    let found: boolean;
    try {
      found = this.store.markAnomaly(command.anomalyId, markOf(command.verb), command.note, `mqtt:${command.operator}`);
    } catch (err) {
      return { kind: 'rejected', reason: 'store_failed', detail: err instanceof Error ? err.message : String(err) };
    }
    if (!found) return { kind: 'rejected', reason: 'unknown_anomaly', detail: `no anomaly with id ${command.anomalyId}` };
    return { kind: 'applied', command };
  }

  private resultFor(topic: string, operator: string, outcome: HandledOutcome): CommandResultPayload {
    const ts = new Date(this.now()).toISOString();
    switch (outcome.kind) {
      case 'applied': {
        const c = outcome.command;
        return { ok: true, command: c.verb, anomaly_id: c.anomalyId, by: c.operator, mark: markOf(c.verb), note: c.note, ts };
      }
      case 'rejected':
        return {
          ok: false,
          command: verbOf(this.opts.prefix, topic),
          anomaly_id: anomalyIdOf(this.opts.prefix, topic),
          by: operator,
          error: outcome.reason,
          detail: outcome.detail,
          ts,
        };
    }
  }

  private async reply(result: CommandResultPayload): Promise<void> {
    try {
      await this.publish(this.resultTopic, JSON.stringify(result));
    } catch (err) {
      this.opts.logger.warn({ err, anomalyId: result.anomaly_id }, 'could not publish command result');
    }
  }
}
