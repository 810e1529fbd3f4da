// The report page's checks, made in the browser with the SDK this server serves (never a copy):
// the statement against a fresh nonce and its quote, the report's binding to another nonce, the
// source tree against the statement, the egress log's hash chain, and the receipt of a call the
// server must refuse before any function runs. Each row says what held and how it is known; in
// dev mode, whatever leans on a quote says "not attested".
import type * as Sdk from "../../../sdk/client/index.ts";

// A specifier known only at run time: the bundler leaves it to the browser, which fetches the
// served SDK.
const sdk = (await import(new URL("/sdk/auditor-sdk.js", location.origin).href)) as typeof Sdk;

type State = "checking" | "checked" | "not attested" | "failed";

function show(id: string, state: State, detail: string) {
  const item = document.querySelector<HTMLElement>(`[data-check="${id}"]`);
  if (!item) return;
  item.dataset.state = state;
  item.querySelector(".state")!.textContent = state;
  item.querySelector(".detail")!.textContent = detail;
}

async function check(id: string, run: () => Promise<[State, string]>) {
  try {
    const [state, detail] = await run();
    show(id, state, detail);
  } catch (err) {
    show(id, "failed", (err as Error)?.message ?? String(err));
  }
}

const freshNonce = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
const short = (hex: string) => `${hex.slice(0, 16)}…`;

const baseUrl = location.origin;
const app = document.body.dataset.app!;
const unpinned = sdk.createClient({ baseUrl });

// The statement first: every other check pins its key for this page load.
let attested = false;
let statement: Sdk.AttestationStatement | undefined;
await check("statement", async () => {
  const nonce = freshNonce();
  const response = await unpinned.attestation({ nonce });
  statement = response.statement;
  attested = response.quote !== undefined;
  if (statement.kid !== document.body.dataset.kid)
    throw new Error(
      `the statement's key ${statement.kid} is not the one this page was rendered with`,
    );
  return attested
    ? [
        "checked",
        `kid ${statement.kid}; the quote's report data is SHA-512 of this statement with your nonce ${nonce}. Its Intel signature chain and the measurements are for auditor verify.`,
      ]
    : [
        "not attested",
        `kid ${statement.kid}; it carries your nonce ${nonce}, but there is no quote (dev mode): the statement is the server's own word.`,
      ];
});
const bound = (detail: string): [State, string] =>
  attested
    ? ["checked", detail]
    : [
        "not attested",
        `${detail} No quote backs the statement, so this only shows the server is consistent with itself.`,
      ];

if (!statement) {
  for (const id of ["binding", "source", "egress-log", "receipt"])
    show(id, "failed", "skipped: the statement could not be checked");
} else {
  const pinned = sdk.createClient({ baseUrl, pinnedKeys: [statement.kid] });
  let fn: string | undefined;
  await check("binding", async () => {
    const nonce = freshNonce();
    const report = await pinned.report(app, { nonce });
    fn = report.functions[0]?.name;
    return bound(
      `SHA-256(JCS(report)) = ${short(report.binding!.reportSha256)} and the report data derive from your nonce ${nonce}${attested ? ", and the binding's quote carries them" : ""}.`,
    );
  });
  await check("source", async () => {
    const { listing } = await pinned.source();
    return bound(
      `${listing.files.length} files hash to treeSha256 ${short(listing.treeSha256)}, the statement's; commit ${listing.commit ?? "unknown"} of ${listing.repository}.`,
    );
  });
  await check("egress-log", async () => {
    const log = await pinned.egressLog();
    const from = log.fromGenesis
      ? "from genesis"
      : `from seq ${log.entries[0]!.seq} (older entries left the server's window)`;
    return [
      "checked",
      `${log.entries.length} entries chain ${from} to head seq ${log.head.seq}. That every egress is logged is the measured code's promise.`,
    ];
  });
  await check("receipt", async () => {
    if (!fn) throw new Error("the report lists no function to call");
    let receipt: Sdk.Receipt | undefined;
    try {
      // null is no function's input: the server refuses it before any function runs.
      await pinned.invoke(fn, null, { onReceipt: (r) => (receipt = r) });
      throw new Error(`POST /invoke/${fn} with a null body was accepted`);
    } catch (err) {
      if (!(err instanceof sdk.HttpError) || err.status !== 400) throw err;
    }
    if (!receipt) throw new Error("no receipt");
    if (receipt.egress.length > 0)
      throw new Error(`a refused call caused ${receipt.egress.length} egress entries`);
    return bound(
      `POST /invoke/${fn} with a null body answered ${receipt.status}; its receipt is signed by kid ${receipt.kid} over your exact request and response bytes and lists no egress: nothing left the TEE.`,
    );
  });

  const button = document.querySelector<HTMLButtonElement>("#hash-every-file");
  button?.addEventListener("click", () => {
    button.disabled = true;
    show("source", "checking", "hashing every served file…");
    void check("source", async () => {
      const { listing, mismatched } = await pinned.source({ everyFile: true });
      if (mismatched.length)
        throw new Error(
          `served files that do not hash as listed: ${mismatched.slice(0, 5).join(", ")}`,
        );
      return bound(
        `all ${listing.files.length} served files hash as listed, to treeSha256 ${short(listing.treeSha256)}, the statement's.`,
      );
    }).finally(() => (button.disabled = false));
  });
}
document.body.dataset.checked = "true";
