/** What the embedded broker tells of itself to the status (the adapter fills it; the HTTP API and the CLI read it). */

/**
 * What the embedded broker refused since it started (EmbeddedBroker.refusals), for `anomalyd status` and
 * GET /api/status: a refused publish is acknowledged and dropped (MQTT 3.1.1), so the publisher (mosquitto_pub
 * exits 0) never learns of it; this and the log are where the operator does.
 */
export interface BrokerRefusals {
  readonly publishes: {
    /** Refused publishes since start. */
    readonly count: number;
    /** How many distinct topics they came on (bounded, src/adapters/broker.ts DENIAL_MAX_DISTINCT; `moreTopics` beyond). */
    readonly topics: number;
    readonly moreTopics: boolean;
    /** The first few of those topics (10), in order of first refusal. */
    readonly someTopics: readonly string[];
    /** The latest refusal: epoch ms, its topic and why. Null before the first. */
    readonly last: { readonly at: number; readonly topic: string; readonly reason: string } | null;
  };
  readonly logins: {
    /** Refused logins (CONNECT) since start. */
    readonly count: number;
    /** Distinct client ids they came from (bounded, src/adapters/broker.ts DENIAL_MAX_DISTINCT; `moreClients` beyond). */
    readonly clients: number;
    readonly moreClients: boolean;
    readonly last: { readonly at: number; readonly clientId: string; readonly reason: string } | null;
  };
}
