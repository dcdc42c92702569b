/**
 * The contract every real peer (Kafka, HAPI FHIR, PostgreSQL) fulfils for the test harness.
 * A peer is started as a local process (or a container where a Docker engine answers),
 * awaited until it really answers (never slept for), and stopped leaving no process behind.
 */
export interface PeerOptions {
  /** Fresh, git-ignored directory for this peer's data and its log file (under .peers/). */
  readonly workDir: string;
  /** Long-lived download/build cache shared across runs and clones (default ~/.cache/hit-bridge). */
  readonly cacheDir: string;
  /** Port to listen on; 0 or undefined lets the peer pick a free one. */
  readonly port?: number;
  /** Give up waiting for readiness after this many milliseconds. */
  readonly readyTimeoutMs?: number;
}

export interface RunningPeer {
  readonly name: string;
  /** Human-facing URL (e.g. the FHIR base URL, the broker list, the postgres URL). */
  readonly url: string;
  /** Environment lines that point hit-bridge at this peer, e.g. { KAFKA_BROKERS: '127.0.0.1:9092' }. */
  readonly env: Readonly<Record<string, string>>;
  /** Where this peer's log goes. */
  readonly logFile: string;
  /** Process (group) id of the peer, so `npm run peers:down` can stop a peer another process started. */
  readonly pid: number;
  /** Milliseconds from spawn until readiness was observed. */
  readonly readyMs: number;
  /** Stops the peer and waits until its process is gone (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
  /**
   * For outage tests, on peers that keep their data across a restart: `pause()` stops the process
   * (as stop() does) and `resume()` starts it again on the same ports with the same data, resolving
   * once it answers again. Absent where a restart would lose the data (e.g. HAPI on in-memory H2).
   */
  pause?(): Promise<void>;
  resume?(): Promise<void>;
}
