'use strict';
// An example webhook receiver for Payment Center events: plain Node `http`, no framework.
//
//   PORT=8080 KEYS=erp-1:<secret> STORE=./applied-events.jsonl node receiver.js
//
// KEYS: your key id and secret from PARTNERS (during a rotation both: erp-1:<secret>,erp-2:<secret>).
// STORE: where applied event ids are kept, so a restart still recognises an event it already applied.
//
// The contract (docs/webhooks.md): each event is POSTed as JSON, the same body the queue carries, signed in
// `x-pc-signature` exactly like the queue's messages (so verify.js serves both); `x-pc-event-id` (also sent
// as `Idempotency-Key`) is the event id. Answer 2xx once you have applied it (or had it already); any other
// answer, or none within the Payment Center's timeout, is sent again later. Sends can repeat (a retry after a
// lost answer, a replay, a crash between our send and our record of it): deduplicate on the event id.
const http = require('node:http');
const fs = require('node:fs');
const { verifyPaymentEvent } = require('../partner-consumer/verify');

const MAX_BODY_BYTES = 64 * 1024;

/**
 * A receiver: verifies, deduplicates by event id, drops an event older than one already applied for the same
 * payment (by `version`), and appends what it applied to `store` (one JSON line per event, fsync'd before the
 * 2xx: an event answered 2xx is never lost, one never answered is sent again).
 *
 * @param {{ keys: { keyId: string, secret: string }[], store: string, onApplied?: (event: object) => void }} options
 */
function createReceiver({ keys, store, onApplied }) {
  const seen = new Set();
  const newestVersion = new Map();
  if (fs.existsSync(store)) {
    for (const line of fs.readFileSync(store, 'utf8').split('\n')) {
      if (!line) continue;
      const { id, paymentNo, version } = JSON.parse(line);
      seen.add(id);
      if ((newestVersion.get(paymentNo) ?? 0) < version) newestVersion.set(paymentNo, version);
    }
  }
  const fd = fs.openSync(store, 'a');

  return http.createServer((request, response) => {
    const answer = (status, text) => {
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(text);
    };
    if (request.method !== 'POST') return answer(405, 'POST only');
    const chunks = [];
    let size = 0;
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) request.destroy();
      else chunks.push(chunk);
    });
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!verifyPaymentEvent(request.headers['x-pc-signature'], body, keys)) {
        return answer(401, 'bad signature'); // not ours, or tampered with: never applied
      }
      const event = JSON.parse(body.toString('utf8'));
      if (seen.has(event.id)) return answer(200, 'already applied');
      const paymentNo = event.payment.paymentNo;
      const stale = event.version <= (newestVersion.get(paymentNo) ?? 0);
      // Your own change goes here, in one transaction with the record of the event id.
      fs.writeSync(
        fd,
        `${JSON.stringify({ id: event.id, type: event.type, paymentNo, version: event.version, stale })}\n`,
      );
      fs.fsyncSync(fd);
      seen.add(event.id);
      if (!stale) {
        newestVersion.set(paymentNo, event.version);
        if (onApplied) onApplied(event);
      }
      answer(200, stale ? 'stale, ignored' : 'applied');
    });
  });
}

function keysFromEnv(env) {
  return (env.KEYS ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf(':');
      return { keyId: pair.slice(0, at).trim(), secret: pair.slice(at + 1).trim() };
    });
}

if (require.main === module) {
  const keys = keysFromEnv(process.env);
  if (keys.length === 0) {
    console.error('KEYS is required: <keyId>:<secret>[,<keyId>:<secret>]');
    process.exit(2);
  }
  const store = process.env.STORE ?? './applied-events.jsonl';
  const server = createReceiver({
    keys,
    store,
    onApplied: (event) => console.log(event.type, event.payment.orderNo, event.payment.paymentNo, event.id),
  });
  server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
    console.log(`listening on ${server.address().port}`);
  });
}

module.exports = { createReceiver };
