/**
 * The daemon's adapters, built by factories so a test can start the daemon in-process with any of them
 * replaced (a store on a temporary file, a broker on a free port, a fake trainer). `realAdapters` builds
 * the real ones; `DaemonOptions.adapters` overrides some of them.
 */
import type { Logger } from 'pino';
import { EmbeddedBroker, type EmbeddedBrokerOptions } from '../adapters/broker.js';
import { HttpServer, type HttpServerOptions } from '../adapters/http.js';
import { InferenceWorkerHost } from '../adapters/inference-worker.js';
import { MqttAdapter, type MqttAdapterOptions } from '../adapters/mqtt.js';
import { loadModel } from '../adapters/onnx-runner.js';
import { OutboxPublisher, type OutboxPublisherOptions, type OutboxSource, type PublishFn } from '../adapters/outbox-publisher.js';
import { SqliteStore, type SqliteStoreOptions } from '../adapters/sqlite-store.js';
import type { ModelLoader } from '../contract/ports.js';
import { trainInWorker } from '../train/in-worker.js';

/** The factories the daemon builds its adapters with. Each returns an adapter the daemon then owns (starts and stops). */
export interface DaemonAdapters {
  /** Opens (creating or migrating) the SQLite database at `path`. Throws when it cannot. */
  openStore(path: string, opts: SqliteStoreOptions): SqliteStore;
  createBroker(opts: EmbeddedBrokerOptions): EmbeddedBroker;
  createMqtt(opts: MqttAdapterOptions): MqttAdapter;
  createOutbox(store: OutboxSource, publish: PublishFn, opts: OutboxPublisherOptions): OutboxPublisher;
  createHttp(opts: HttpServerOptions): HttpServer;
  /** The worker thread that runs onnxruntime for every model (model.worker: true). */
  createInferenceHost(logger: Logger): InferenceWorkerHost;
  /** Loads a model on the main thread (model.worker: false). */
  readonly loadModel: ModelLoader;
  /** Trains a model off the main thread (on-device learning). */
  readonly train: typeof trainInWorker;
}

export const realAdapters: DaemonAdapters = {
  openStore: (path, opts) => SqliteStore.open(path, opts),
  createBroker: (opts) => new EmbeddedBroker(opts),
  createMqtt: (opts) => new MqttAdapter(opts),
  createOutbox: (store, publish, opts) => new OutboxPublisher(store, publish, opts),
  createHttp: (opts) => new HttpServer(opts),
  createInferenceHost: (logger) => new InferenceWorkerHost(logger),
  loadModel,
  train: trainInWorker,
};
