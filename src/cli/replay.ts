/**
 * `anomalyd replay`: a recorded CSV through the detector's own stages in virtual time, one output row per
 * input row. Exit 0 on success, 2 on bad usage, 1 when the input, the model or training fails.
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../adapters/onnx-runner.js';
import type { DeepPartial } from '../config/dsl.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { modelSidecarPath } from '../daemon.js';
import type { ReplayOutput } from '../replay/drive.js';
import { runReplay } from '../replay/run.js';
import { readReplayCsv, type ReplayInput } from '../replay/source.js';
import type { ToldEpisode } from '../replay/tell.js';
import type { CommandContext } from './context.js';
import { resolveTimeZone } from '../csv/time.js';
import { CSV_INPUT_HELP, CSV_OPTIONS, csvFlags, type CsvFlags } from './csv-flags.js';
import { shownSurprise, surpriseOf } from '../contract/surprise.js';

export const REPLAY_USAGE = `Usage: anomalyd replay --input FILE.csv [options]

Streams a recorded CSV through the daemon's own detector (parse, one model step per reading, score), in
virtual time and as fast as the machine allows. Every row gets its own score, using rows 0..i only. Each
value column is its own stream (<sensor>/<column>), as each field of an MQTT payload is; --group makes a
row's columns one multi-channel stream. A row reports the most surprising of its streams. Settings come
from the config file, as for 'anomalyd run'; flags override them.

Input:
  --input FILE.csv          header row, one reading per row (docs/CSV.md); a missing value (empty, nan,
                            null) goes to the parser as null, as a sensor sends one
${CSV_INPUT_HELP}  --interval-ms N           without a time column (none, or an index-only file), each sensor's row n
                            is at n * N ms (default 1000)
  --sensor NAME             the sensor's name (default: the file's name): the stream of a file with one
                            value column, the prefix (NAME/<column>) of several; name it as the daemon
                            does (esp-garage/ds18b20) so explain.units and the sentences match
  --sensor-column NAME      several sensors in one file: this column names each row's sensor
  --recording-column NAME   several recordings of a sensor in one file: a row whose value in this column
                            differs from its sensor's previous row's begins a new recording (the step
                            between two recordings is not the stream's: its model state, previous reading,
                            short means and runs start over, and the time between is no silence; its
                            model and what it learnt are kept). Its times must still increase, and
                            its recordings come one after the other (one that comes back is refused)

Model (one of):
  --model NAME              model NAME in model.dir (default: model.name, else the model.cell model)
  --cell gru|lstm           the default model of this cell kind
  --learn-first N           learn a model per stream from the first N rows (known normal), as the daemon
                            does: the shipped model fine-tuned on their older 80 % (learnt from scratch
                            when --hidden or the channels differ from it), kept only if the gate
                            finds it better on their newest 20 % (else the shipped model scores it, told per
                            stream); then replay all rows. A stream whose rows drift away from every level
                            they had shown in their newest 20 % is not trained on, as on the device; it and
                            a stream too short to learn from are scored with the shipped model, told per
                            stream; a row repeating its stream's time stamp is not trained on
  --learn-fraction F        the same with N = F x rows
  --hidden N, --epochs N, --seed N   training options with --learn-first (defaults: the config's learning)
  --group                   a row's value columns are one multi-channel stream (one model for them all)

Output:
  --output FILE.csv         default stdout. Columns: the input's time, sensor (with --sensor-column),
                            recording (with --recording-column, under its name), the values, then
                            anomaly_score  0..1, 0 while learning
                            surprise       -log10(1 - score), 0..16: the same score on a scale that does
                                           not bunch up near 1 (16: the score is 1 to float64 precision;
                                           the daemon's alerts and API show it the same way)
                            anomaly        1 while an episode is open
                            status         learning, ok, anomalous
                            anomalous_columns  the value columns whose stream is in an open episode
                                           (';' between several; empty when anomaly is 0; with --group,
                                           all of them: one stream)
                            kind           the open episode's kind as the daemon's alerts and 'anomalies
                                           show' tell it after this row: level_shift, spike, drift, stuck,
                                           noise_change, missing_data, counter_reset, counting_fast,
                                           continuous_flow,
                                           alarm (empty while
                                           no kind is told yet, and when anomaly is 0; ';' between several
                                           streams' in the order of anomalous_columns)
                            sentence       its one-line explanation, the same words (' | ' between several)
                            The score tells what is new: inside an open episode its own streams score 0
                            unless a reading is tenfold rarer than the episode's peak so far, so a lasting
                            fault scores high at its onset and then shows in anomaly/status
                            (docs/SCORING.md, "The row score inside an episode"). A row without a reading
                            (a missing or rejected value) has score 0 and its sensor's anomaly, status and
                            anomalous_columns as the row before left them
  --episodes FILE.csv       also write one row per episode: id, stream, start, end, readings, kind,
                            sentence, resolution (start and end ISO 8601 UTC; end: the first reading
                            back once resolved, else its last anomalous reading so far; resolution
                            empty while still open at the input's end)
  --config PATH             config file (default: $ANOMALYD_CONFIG, else config/default.yaml)
  -h, --help                this help

Reading the score: read anomaly_score against score.threshold (default 0.99999 = surprise 5; the last
line below gives the one in force, --config for another file's). An episode opens where a stream's score
reaches it (judged on the fitted tails, of which the row score written here is the predictive reading and
can be a little lower: docs/SCORING.md, section 3), or where its deviation from the stream's normal before
any episode does (section 5): an opening row can score below the threshold.

A summary (rows, streams, readings scored, rejected by the parser, missing values, training and replay
time, rows/s, the CPU seconds the replay took, which a busy machine does not inflate as it does the wall
time, then the alarm threshold in force, then the episodes: start, end, kind and sentence, the first 20 of
them) goes to stderr, with a hint when rows were rejected out of order (local times read in another zone
than they were written in repeat an hour where daylight saving ends: --timezone; given only when some times
had no offset, and Z, +hh:mm, +hhmm and +hh are offsets).
A missing value is a missing reading: neither scored nor counted as rejected. A silence (rows absent) is judged
only at the stream's next reading, not while it lasts as the daemon judges it live (docs/CSV.md): a dropout the
daemon would tell as missing data may open nothing here.
`;

const OPTIONS = {
  input: { type: 'string' },
  output: { type: 'string' },
  episodes: { type: 'string' },
  ...CSV_OPTIONS,
  'interval-ms': { type: 'string' },
  sensor: { type: 'string' },
  'sensor-column': { type: 'string' },
  'recording-column': { type: 'string' },
  model: { type: 'string' },
  cell: { type: 'string' },
  'learn-first': { type: 'string' },
  'learn-fraction': { type: 'string' },
  hidden: { type: 'string' },
  epochs: { type: 'string' },
  seed: { type: 'string' },
  group: { type: 'boolean' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

interface Plan {
  readonly input: string;
  readonly output: string | null;
  /** --episodes FILE.csv: one row per episode. */
  readonly episodes: string | null;
  readonly csv: CsvFlags;
  readonly intervalMs: number | undefined;
  readonly sensorColumn: string | undefined;
  /** --sensor NAME: the stream (one value column) or the streams' prefix; the file's name without it. */
  readonly sensor: string | undefined;
  readonly recordingColumn: string | undefined;
  readonly learn: { readonly rows: number } | { readonly fraction: number } | null;
  readonly train: { hidden?: number; epochs?: number; seed?: number };
  readonly group: boolean;
  /** --timezone was given (it overrides the config's ingest.timezone). */
  readonly timezoneFlag: boolean;
  readonly configPath: string | undefined;
  readonly overrides: DeepPartial<Config>;
}

function numberFlag(text: string | undefined, flag: string, min: number, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min) {
    throw new UsageError(`--${flag}: expected ${integer ? 'an integer' : 'a number'} >= ${min}, got '${text}'`);
  }
  return v;
}

/** --help, with the config it names (else $ANOMALYD_CONFIG, else config/default.yaml) for the threshold line. */
interface HelpPlan {
  readonly help: true;
  readonly configPath: string | undefined;
}

function plan(argv: string[]): Plan | HelpPlan {
  const { values: v, positionals } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  if (v.help === true) return { help: true, configPath: v.config };
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  if (v.input === undefined) throw new UsageError('--input FILE.csv is required');
  if (v.sensor !== undefined && v['sensor-column'] !== undefined) throw new UsageError('--sensor and --sensor-column exclude each other (the column names each row\'s sensor)');
  if (v.sensor !== undefined && v.sensor.trim() === '') throw new UsageError('--sensor: expected a name, got an empty one');
  if (v.cell !== undefined && v.cell !== 'gru' && v.cell !== 'lstm') throw new UsageError(`--cell: expected gru or lstm, got '${v.cell}'`);
  const learnFirst = numberFlag(v['learn-first'], 'learn-first', 1, true);
  const learnFraction = numberFlag(v['learn-fraction'], 'learn-fraction', 0, false);
  if (learnFirst !== undefined && learnFraction !== undefined) throw new UsageError('--learn-first and --learn-fraction exclude each other');
  if (learnFraction !== undefined && !(learnFraction > 0 && learnFraction < 1)) throw new UsageError(`--learn-fraction: expected a number in (0, 1), got ${learnFraction}`);
  const learning = learnFirst !== undefined || learnFraction !== undefined;
  if (learning && v.model !== undefined) throw new UsageError('--model and --learn-first/--learn-fraction exclude each other');
  const model: { name?: string; cell?: 'gru' | 'lstm' } = {};
  if (v.model !== undefined) model.name = v.model;
  if (v.cell === 'gru' || v.cell === 'lstm') model.cell = v.cell;
  let csv: CsvFlags;
  try {
    csv = csvFlags(v);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return {
    input: v.input,
    output: v.output ?? null,
    episodes: v.episodes ?? null,
    csv,
    intervalMs: numberFlag(v['interval-ms'], 'interval-ms', 1, true),
    sensorColumn: v['sensor-column'],
    sensor: v.sensor,
    recordingColumn: v['recording-column'],
    learn: learnFirst !== undefined ? { rows: learnFirst } : learnFraction !== undefined ? { fraction: learnFraction } : null,
    train: {
      hidden: numberFlag(v.hidden, 'hidden', 1, true),
      epochs: numberFlag(v.epochs, 'epochs', 1, true),
      seed: numberFlag(v.seed, 'seed', 0, true),
    },
    group: v.group === true,
    timezoneFlag: v.timezone !== undefined,
    configPath: v.config,
    overrides: Object.keys(model).length > 0 ? { model } : {},
  };
}

/** Writes output in chunks: a recording can be far larger than one string should be. */
class ChunkedWriter {
  private buf = '';
  constructor(private readonly write: (s: string) => void) {}
  line(s: string): void {
    this.buf += s;
    if (this.buf.length >= 1 << 16) this.flush();
  }
  flush(): void {
    if (this.buf.length > 0) this.write(this.buf);
    this.buf = '';
  }
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function outputHeader(input: ReplayInput): string {
  const time = input.timestampColumn ?? 'row';
  const cols = [time, ...(input.sensorColumn !== null ? [input.sensorColumn] : []), ...(input.recordingColumn !== null ? [input.recordingColumn] : []), ...input.channels, 'anomaly_score', 'surprise', 'anomaly', 'status', 'anomalous_columns', 'kind', 'sentence'];
  return `${cols.map(csvField).join(',')}\n`;
}

/** One output row; the surprise is capped as every output caps it (src/contract/surprise.ts). */
export function outputLine(input: ReplayInput, o: ReplayOutput): string {
  const sensor = input.sensorColumn !== null ? `${csvField(o.row.sensor)},` : '';
  const recording = input.recordingTexts !== null ? `${csvField(input.recordingTexts[o.index] ?? '')},` : '';
  const values = o.row.values.map((x) => (Number.isFinite(x) ? String(x) : '')).join(',');
  const columns = o.anomalousChannels.length === 0 ? '' : csvField(o.anomalousChannels.map((c) => o.row.channels[c]).join(';'));
  const kinds = o.told.every((t) => t.kind === null) ? '' : csvField(o.told.map((t) => t.kind ?? '').join(';'));
  const sentences = csvField(o.told.map((t) => t.sentence ?? '').join(' | '));
  return `${csvField(input.timeTexts[o.index])},${sensor}${recording}${values},${o.score},${Math.round(shownSurprise(o.surprise) * 1e4) / 1e4},${o.anomaly ? 1 : 0},${o.status},${columns},${kinds},${sentences}\n`;
}

/** The --episodes file's header. */
export const EPISODES_HEADER = 'id,stream,start,end,readings,kind,sentence,resolution\n';

/** One --episodes row (ToldEpisode), times ISO 8601 UTC. */
export function episodeLine(e: ToldEpisode): string {
  return `${[e.id, e.stream, new Date(e.startTs).toISOString(), new Date(e.endTs).toISOString(), String(e.readings), e.kind ?? '', e.sentence ?? '', e.resolution ?? ''].map(csvField).join(',')}\n`;
}

/** Episodes the summary on stderr lists at most (all of them: --episodes). */
const SUMMARY_EPISODES = 20;

/** The summary's lines of the episodes: start – end, kind, sentence; at most SUMMARY_EPISODES. */
export function episodeSummary(episodes: readonly ToldEpisode[], file: string | null): string {
  if (episodes.length === 0) return 'replay: no episode\n';
  const shown = episodes.slice(0, SUMMARY_EPISODES).map((e) => `replay:   ${new Date(e.startTs).toISOString()} – ${new Date(e.endTs).toISOString()}${e.resolution === null ? ' (open)' : ''}  ${e.kind ?? '(no kind)'}  ${e.sentence ?? ''}\n`);
  const more = episodes.length > SUMMARY_EPISODES ? `replay:   … and ${episodes.length - SUMMARY_EPISODES} more${file !== null ? ` (all in ${file})` : ': --episodes FILE.csv lists them all'}\n` : '';
  return `replay: ${episodes.length} episode${episodes.length === 1 ? '' : 's'} (start – end UTC, kind, sentence):\n${shown.join('')}${more}`;
}

/** The alarm threshold in force, for --help and the summary: the score and its surprise, and where it was set. */
export function thresholdLine(config: Config, file: string | null): string {
  const t = config.score.threshold;
  return `alarm threshold: anomaly_score ${t} = surprise ${surpriseOf(t).toFixed(1)} (score.threshold, ${file !== null ? `from ${file}` : 'the default'})`;
}

export async function replayCommand(argv: string[], ctx: CommandContext): Promise<number> {
  let p: Plan | HelpPlan;
  try {
    p = plan(argv);
  } catch (err) {
    // parseArgs throws TypeErrors with a readable message for unknown flags and missing values.
    if (err instanceof UsageError || err instanceof TypeError) {
      ctx.stderr(`replay: ${err.message}\n\n${REPLAY_USAGE}`);
      return 2;
    }
    throw err;
  }
  if ('help' in p) {
    // The threshold of the config the replay would use, to read the scores against.
    const forHelp = loadConfig({ ...(p.configPath !== undefined ? { path: p.configPath } : {}), env: ctx.env });
    const line = forHelp.ok ? thresholdLine(forHelp.config, forHelp.file) : `alarm threshold: unknown, the configuration does not load${forHelp.file !== null ? ` (${forHelp.file})` : ''}`;
    ctx.stdout(`${REPLAY_USAGE}\nWith this configuration, ${line}.\n`);
    return 0;
  }
  const loaded = loadConfig({ ...(p.configPath !== undefined ? { path: p.configPath } : {}), env: ctx.env, overrides: p.overrides });
  if (!loaded.ok) {
    ctx.stderr(`replay: invalid configuration${loaded.file !== null ? ` (${loaded.file})` : ''}:\n  ${loaded.errors.join('\n  ')}\n`);
    return 2;
  }
  try {
    return await replayWith(p, loaded.config, loaded.file, ctx);
  } catch (err) {
    ctx.stderr(`replay: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function replayWith(p: Plan, config: Config, configFile: string | null, ctx: CommandContext): Promise<number> {
  const input = await readReplayCsv(p.input, {
    ...(p.csv.timeColumn !== undefined ? { timestampColumn: p.csv.timeColumn } : {}),
    ...(p.csv.columns !== undefined ? { valueColumns: p.csv.columns } : {}),
    ...(p.sensorColumn !== undefined ? { sensorColumn: p.sensorColumn } : {}),
    ...(p.recordingColumn !== undefined ? { recordingColumn: p.recordingColumn } : {}),
    ...(p.intervalMs !== undefined ? { intervalMs: p.intervalMs } : {}),
    // --timezone wins; else the config's ingest.timezone (device times without an offset), as for 'run'.
    timeZone: p.timezoneFlag || config.ingest.timezone === null ? p.csv.timeZone : resolveTimeZone(config.ingest.timezone),
    sensor: p.sensor ?? basename(p.input),
  });
  const synthesised = input.timestampColumn === null ? `; times synthesised, ${p.intervalMs ?? 1000} ms apart per sensor` : '';
  ctx.stderr(`replay: read ${p.input}: ${input.table.describe()}${synthesised}\n`);
  const rows = input.rows.length;
  const learnRows = p.learn === null ? 0 : 'rows' in p.learn ? Math.min(p.learn.rows, rows) : Math.floor(p.learn.fraction * rows);
  const dir = await mkdtemp(join(tmpdir(), 'anomalyd-replay-'));
  const fd = p.output === null ? null : openSync(p.output, 'w');
  const out = new ChunkedWriter(fd === null ? ctx.stdout : (s) => void writeSync(fd, s));
  try {
    out.line(outputHeader(input));
    let outOfOrder = 0;
    let inLearning = 0;
    const res = await runReplay(
      input.rows,
      {
        config,
        learnRows,
        loadModel,
        shippedModel: modelSidecarPath(config),
        dir,
        train: definedOnly(p.train),
        group: p.group,
        warn: (message) => ctx.stderr(`replay: ${message}\n`),
        tell: true,
      },
      (o) => {
        if (o.rejected === 'out_of_order') outOfOrder++;
        // Rows not judged yet: their stream's learning period (score.learnReadings readings), after --learn-first's rows.
        if (o.status === 'learning' && o.rejected === null && !o.missing && o.index >= learnRows) inLearning++;
        out.line(outputLine(input, o));
      },
    );
    out.flush();
    const c = res.counters;
    ctx.stderr(
      `replay: ${rows} rows (${learnRows > 0 ? `${learnRows} learnt from with --learn-first, ` : ''}${inLearning} in a stream's learning period, scored 0), ${res.streams.size} stream${res.streams.size === 1 ? '' : 's'}, ${c.readings} readings scored, ${c.rejected} rejected, ${c.missing} missing` +
        `${c.errors > 0 ? `, ${c.errors} internal errors` : ''}; ${learnRows > 0 ? `training ${res.learnSeconds.toFixed(1)} s, ` : ''}replay ${res.runSeconds.toFixed(2)} s = ${Math.round(rows / Math.max(res.runSeconds, 1e-9))} rows/s (CPU ${res.runCpuSeconds.toFixed(2)} s)\n`,
    );
    ctx.stderr(`replay: ${thresholdLine(config, configFile)}\n`);
    if (p.episodes !== null) writeFileSync(p.episodes, EPISODES_HEADER + res.episodes.map(episodeLine).join(''));
    ctx.stderr(episodeSummary(res.episodes, p.episodes));
    // Times that go back are what a daylight-saving change looks like when local times are read in another
    // zone; a file whose times all carry their offset (Z, +01:00) read no time in a zone, so it says nothing of one.
    if (outOfOrder > 0) {
      const zoneHint =
        input.table.isoWithoutOffset > 0
          ? ' Local times without an offset repeat an hour where daylight saving ends: if they were written in such a zone, name it with --timezone (e.g. Europe/Berlin)'
          : " The file's times go back there (not a time zone's doing: they carry their offset or are epoch numbers)";
      ctx.stderr(`replay: ${outOfOrder} row${outOfOrder === 1 ? '' : 's'} rejected out_of_order (earlier than the stream's last reading).${zoneHint}\n`);
    }
    return 0;
  } finally {
    if (fd !== null) closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as Partial<T>;
}
