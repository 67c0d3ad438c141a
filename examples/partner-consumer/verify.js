'use strict';
// Verifies the Payment Center's event signature. Copy this file into your consumer.
//
// Header x-pc-signature: t=<unix seconds>,<keyId>=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,...]
// One message can carry signatures for several partners; check the one under your own key id.
const crypto = require('node:crypto');

const TOLERANCE_SECONDS = 24 * 3600;

/**
 * @param {string | undefined} header   the x-pc-signature header
 * @param {Buffer} body                 the raw message body, exactly as received
 * @param {{ keyId: string, secret: string }[]} keys  your current key(s); two during a rotation
 * @param {number} [nowSeconds]
 * @returns {boolean}
 */
function verifyPaymentEvent(header, body, keys, nowSeconds = Math.floor(Date.now() / 1000)) {
  if (typeof header !== 'string') return false;
  // A Map, not an object: a key id such as `constructor` or `__proto__` must find nothing, not
  // Object.prototype's members (which made Buffer.from throw instead of the check failing).
  const fields = new Map();
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const timestamp = Number(fields.get('t'));
  if (!Number.isSafeInteger(timestamp) || Math.abs(nowSeconds - timestamp) > TOLERANCE_SECONDS) return false;
  return keys.some(({ keyId, secret }) => {
    const given = fields.get(keyId);
    if (typeof given !== 'string' || !/^[0-9a-f]{64}$/i.test(given)) return false;
    const expected = crypto.createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
    return crypto.timingSafeEqual(Buffer.from(given, 'hex'), expected);
  });
}

module.exports = { verifyPaymentEvent, TOLERANCE_SECONDS };
