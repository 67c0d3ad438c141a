'use strict';
// An example partner consumer of Payment Center events, with a plain AMQP client (amqplib) and no framework.
//
//   PARTNER=erp KEY_ID=erp-1 SECRET=... AMQP_URL=amqp://guest:guest@127.0.0.1:5672 node consumer.js
//
// During a key rotation, give both keys instead: KEYS=erp-1:<secret>,erp-2:<secret> (any order). A message
// signed with either is accepted, so none is refused while the Payment Center switches from one to the other
// (docs/events.md, "Key rotation").
//
// The Payment Center declares your queue `partner.<name>` (a durable quorum queue bound to the
// `payment.events` topic exchange with your routing-key patterns or, when PARTNERS restricts you to your
// applications, only to your own exchange `payment.events.partner.<name>`); you only consume from it.
const amqp = require('amqplib');
const { verifyPaymentEvent } = require('./verify');

const partner = process.env.PARTNER ?? 'erp';
const keys = process.env.KEYS
  ? process.env.KEYS.split(',').map((pair) => {
      const at = pair.indexOf(':');
      return { keyId: pair.slice(0, at).trim(), secret: pair.slice(at + 1).trim() };
    })
  : [{ keyId: process.env.KEY_ID ?? `${partner}-1`, secret: process.env.SECRET ?? '' }];
const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

// Replace with a table written in the same transaction as your own change (see docs/events.md).
const seenEventIds = new Set();
const newestVersionByPayment = new Map();

async function main() {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  await channel.prefetch(10);
  await channel.consume(`partner.${partner}`, (message) => {
    if (!message) return;
    const header = message.properties.headers?.['x-pc-signature'];
    if (!verifyPaymentEvent(header, message.content, keys)) {
      console.error('rejected: bad signature', message.properties.messageId);
      channel.nack(message, false, false); // dead-lettered: the Payment Center marks the delivery failed
      return;
    }
    const event = JSON.parse(message.content.toString('utf8'));
    if (seenEventIds.has(event.id)) {
      channel.ack(message); // a redelivery or a republish: already handled
      return;
    }
    const newest = newestVersionByPayment.get(event.payment.paymentNo) ?? 0;
    if (event.version <= newest) {
      console.log('stale, ignored', event.type, event.payment.paymentNo, `v${event.version} <= v${newest}`);
    } else {
      newestVersionByPayment.set(event.payment.paymentNo, event.version);
      console.log(event.type, event.payment.orderNo, event.payment.paymentNo, event.payment.amountFen, 'fen');
    }
    seenEventIds.add(event.id);
    channel.ack(message);
  });
  console.log(`consuming partner.${partner}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
