// The page's entry: loads the SDK the server serves (never a copy of it), pins the server's
// identity key for this page load after checking its statement, and mounts the app.
import type * as Sdk from "../../../sdk/client/index.ts";
import { mountApp } from "./app.ts";

// A variable specifier: the bundler leaves it to the browser, which fetches the served SDK.
const SDK_URL = "/sdk/auditor-sdk.js";
const { createClient } = (await import(SDK_URL)) as typeof Sdk;

const baseUrl = location.origin;
let client = createClient({ baseUrl });
let sealed = false;
try {
  // The statement must match its quote (when attested); its key is then pinned for the session.
  const { statement } = await client.attestation();
  client = createClient({ baseUrl, pinnedKeys: [statement.kid] });
  sealed = true;
} catch {
  // The trust panel reports what went wrong; calls stay plain.
}
mountApp(document, window, client, { sealed });
