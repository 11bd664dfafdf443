/**
 * The dashboard's series store and its persistence port: per stream, time buckets of readings,
 * expectation and score, written to the database as they close so the long ranges (24 h, 7 d) survive a
 * restart. The store's logic lives in src/pipeline/series.ts; the SQLite adapter implements the port.
 */

/** The two bucket tiers: 1-minute buckets for ranges up to two days, 15-minute ones beyond. */
export type SeriesTier = 1 | 2;

/** Width of a tier's buckets, ms. Buckets start at multiples of it (UTC-aligned). */
export const TIER_WIDTH_MS: Readonly<Record<SeriesTier, number>> = { 1: 60_000, 2: 15 * 60_000 };

/** How long a tier's buckets are kept behind the stream's newest one, ms (a bit more than the longest range it serves). */
export const TIER_RETENTION_MS: Readonly<Record<SeriesTier, number>> = { 1: 26 * 3_600_000, 2: 8 * 86_400_000 };

/** Numbers kept per channel in a bucket, in this order (sensor units; NaN where there was nothing). */
export const BUCKET_STATS = ['mean', 'min', 'max', 'expected', 'spread'] as const;

/** One closed (or, at stop, partial) bucket of one stream. */
export interface SeriesBucket {
  readonly stream: string;
  readonly tier: SeriesTier;
  /**
   * Epoch ms, a multiple of TIER_WIDTH_MS[tier]; or, for the part of a bucket after a change of the stream's unit,
   * the time of the change's first reading (SeriesStore.noteUnitBreak: the readings before it keep the bucket that
   * starts on the multiple). The bucket then covers from its start to the next bucket's start or the next multiple.
   */
  readonly startTs: number;
  /** Readings in the bucket. */
  readonly count: number;
  readonly channels: readonly string[];
  /**
   * Per channel BUCKET_STATS.length numbers, channel-major: [mean, min, max, mean expected, mean spread] of
   * channel 0, then channel 1 …; expected and spread are NaN when the model gave none in the bucket. Float32 while
   * every reading of the bucket fits one at the 7 significant digits it is shown with (fitsFloat32 in
   * src/pipeline/series.ts: 20.1, 1234.5); Float64 for one that does not (a meter's 20210701, a kWh total's
   * 123456.101), whose readings float32 would round. Stored as the array's bytes: 4 or 8 per number.
   */
  readonly stats: Float32Array | Float64Array;
  /** Highest surprise, -log10(1 - score), of the bucket's readings. */
  readonly surpriseMax: number;
  /** The score threshold in force at the bucket's last reading. */
  readonly threshold: number;
  /** Readings that were in an open anomaly episode. */
  readonly anomalous: number;
}

/** Where closed buckets go and come back from (the SQLite store). */
/**
 * A stream's raw readings as kept across a clean stop (SignalBook.keepRaw, SqliteStore.replaceSeriesRaw): its
 * channels and its points, oldest first, as SeriesStore.rawBlob writes them (binary).
 */
export interface SeriesRawRow {
  readonly stream: string;
  readonly channels: readonly string[];
  /** SeriesStore.rawBlob's bytes (src/pipeline/series.ts). */
  readonly points: Buffer;
}

export interface SeriesBucketStore {
  /** Writes (or replaces, per stream, tier and start) buckets in one transaction. */
  writeSeriesBuckets(rows: readonly SeriesBucket[]): void;
  /** A stream's buckets of one tier with fromTs <= startTs <= toTs, oldest first. */
  readSeriesBuckets(stream: string, tier: SeriesTier, fromTs: number, toTs: number): SeriesBucket[];
  /** A stream's newest bucket of a tier, or null. */
  newestSeriesBucket(stream: string, tier: SeriesTier): SeriesBucket | null;
  /** Deletes a stream's buckets of a tier that start before `beforeTs`; returns how many. */
  pruneSeriesBuckets(stream: string, tier: SeriesTier, beforeTs: number): number;
}
