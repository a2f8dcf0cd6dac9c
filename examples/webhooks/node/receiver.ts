// A linkvault webhook receiver for Node.js, in TypeScript, verifying every delivery with
// the Standard Webhooks library (npm "standardwebhooks"). docs/webhooks.md shows this
// file; examples/webhooks/node_test.go runs it against linkvault's real dispatcher.
//
//   LINKVAULT_WEBHOOK_SECRETS="whsec_..." PORT=3000 node receiver.js
//
// During a secret rotation put both secrets in LINKVAULT_WEBHOOK_SECRETS (new first,
// separated by spaces or commas): a delivery is accepted when any of them verifies it.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

/**
 * The data of every connection.* event (never credentials). connection.revoked, sent
 * for a connection already removed, carries tokenId, brokerType and details only.
 */
interface ConnectionEvent {
  tokenId: string;
  userId?: string;
  brokerType: string;
  scope?: "read" | "write";
  status?: string;
  /**
   * "reason" on connection.reauth_required, "expiresAt" on connection.expiry_warning,
   * "revocation" on connection.revoked, "previousAccountIds" and "accountIds" on
   * connection.account_changed.
   */
  details?: Record<string, string>;
}

/** The JSON body linkvault delivers. */
interface LinkvaultEvent {
  type: string;
  timestamp: string;
  data: ConnectionEvent;
}

const secrets = (process.env.LINKVAULT_WEBHOOK_SECRETS ?? "").split(/[\s,]+/).filter((s) => s !== "");
if (secrets.length === 0) {
  throw new Error("set LINKVAULT_WEBHOOK_SECRETS to the whsec_ secret(s) printed by `linkvault webhooks`");
}
const verifiers = secrets.map((s) => new Webhook(s));
const maxBody = 1 << 20;

/** Verifies the raw body (exactly the bytes received) against every secret. */
function verify(body: Buffer, headers: IncomingMessage["headers"]): LinkvaultEvent {
  const h = {
    "webhook-id": String(headers["webhook-id"] ?? ""),
    "webhook-timestamp": String(headers["webhook-timestamp"] ?? ""),
    "webhook-signature": String(headers["webhook-signature"] ?? ""),
  };
  let failure: unknown = new WebhookVerificationError("no secret");
  for (const wh of verifiers) {
    try {
      // Checks the timestamp (5 minutes either way) and every v1 signature.
      return wh.verify(body, h) as LinkvaultEvent;
    } catch (err) {
      failure = err;
    }
  }
  throw failure;
}

// Delivery is at least once: remember the webhook-id of handled events (in your database,
// in production) and skip repeats.
const handled = new Set<string>();

function handle(id: string, event: LinkvaultEvent): void {
  switch (event.type) {
    case "connection.reauth_required":
      // Ask the user to open Link again with this tokenId; it stays the same.
      break;
    case "connection.removed":
      // Forget the tokenId.
      break;
    case "connection.account_changed":
      // Same tokenId, another exchange account: refresh what you show for it.
      break;
    case "connection.revoked":
      // The removed connection's grant: details.revocation says whether the exchange
      // revoked it (revocationUnsupported: ask the user to delete the API key there).
      break;
  }
  console.log(JSON.stringify({ id, type: event.type, tokenId: event.data.tokenId, userId: event.data.userId }));
}

const server = createServer((req, res) => {
  if (req.method !== "POST") {
    res.writeHead(405, { Allow: "POST" }).end();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBody) {
      res.writeHead(413).end();
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    let event: LinkvaultEvent;
    try {
      event = verify(Buffer.concat(chunks), req.headers);
    } catch (err) {
      // 4xx: linkvault records the refusal and does not retry.
      res.writeHead(err instanceof WebhookVerificationError ? 401 : 400).end();
      return;
    }
    const id = String(req.headers["webhook-id"]);
    if (!handled.has(id)) {
      handled.add(id);
      handle(id, event);
    }
    res.writeHead(204).end(); // a 5xx (or no answer) makes linkvault retry later
  });
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
