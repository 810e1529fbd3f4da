// One Redis connection that outlives any outage. Bun's client gives up after its reconnect
// budget (about 30 s) and never tries again, and queues commands while disconnected, so an
// outage either hangs calls or ends them for good. Here the client never reconnects by itself
// and never queues: while there is no live connection a command fails at once, and a loop
// opens a fresh client with capped backoff, forever, until one connects. A command that does
// not answer in time also retires its connection (a stalled server or a dead link would hold
// every later command behind it).
import { AsyncLocalStorage } from "node:async_hooks";
import { RedisClient } from "bun";
import { STORE_CALL_TIMEOUT_MS, STORE_CONNECT_TIMEOUT_MS, withDeadline } from "./deadline.ts";
import { StoreUnavailableError } from "./errors.ts";
import { categorize } from "./health.ts";

/** First pause between reconnect attempts; it doubles up to RECONNECT_MAX_MS. */
const RECONNECT_FIRST_MS = 100;
/**
 * RECONNECT_MAX_MS = 2 s: once the store is back, an instance finds it within 2 s; an attempt
 * costs the store one TCP connect, so a fleet of instances retrying this often is harmless.
 */
export const RECONNECT_MAX_MS = 2_000;

const next = (pause: number) => Math.min(pause * 2, RECONNECT_MAX_MS);

export class RedisConnection {
  private client: RedisClient | undefined;
  private reconnecting: Promise<void> | undefined;
  private closed = false;
  /**
   * Runs the reconnect loop outside any function invocation's context: a reconnect triggered
   * by a call inside a function must not count as that function opening a channel.
   */
  private readonly outside = AsyncLocalStorage.snapshot();

  private constructor(private readonly url: string) {}

  /** Connects once (start-up fails if the store is not there), then keeps connected. */
  static async open(url: string): Promise<RedisConnection> {
    const connection = new RedisConnection(url);
    const client = connection.fresh();
    try {
      await withDeadline(client.connect(), STORE_CONNECT_TIMEOUT_MS, "a connect");
    } catch (err) {
      client.close();
      throw err;
    }
    connection.client = client;
    return connection;
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  async send(command: string, args: string[]): Promise<unknown> {
    const client = this.client;
    if (!client) {
      this.reconnect();
      throw new StoreUnavailableError("unreachable", "the state store (Redis) is not connected");
    }
    try {
      return await withDeadline(client.send(command, args), STORE_CALL_TIMEOUT_MS, `a ${command}`);
    } catch (err) {
      const category = err instanceof StoreUnavailableError ? err.category : categorize(err);
      if (category === "timeout" || category === "unreachable") this.retire(client);
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    this.client?.close();
    this.client = undefined;
  }

  private fresh(): RedisClient {
    const client = new RedisClient(this.url, {
      autoReconnect: false,
      enableOfflineQueue: false,
      connectionTimeout: STORE_CONNECT_TIMEOUT_MS,
    });
    client.onclose = () => this.retire(client);
    return client;
  }

  /** Drops `client` if it is the live one, and starts reconnecting. */
  private retire(client: RedisClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.close();
    this.reconnect();
  }

  private reconnect(): void {
    if (this.closed || this.reconnecting) return;
    const done = () => (this.reconnecting = undefined);
    this.reconnecting = this.outside(() => this.loop()).finally(done);
  }

  private async loop(): Promise<void> {
    for (let pause = RECONNECT_FIRST_MS; !this.closed; pause = next(pause)) {
      const client = this.fresh();
      try {
        await withDeadline(client.connect(), STORE_CONNECT_TIMEOUT_MS, "a connect");
        if (this.closed) return client.close();
        this.client = client;
        return;
      } catch {
        client.close();
      }
      await Bun.sleep(pause);
    }
  }
}
