import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import type { AppConfig } from '../config/app-config';
import { partnerQueueArguments } from '../notifications/amqp.connection';
import { partnerQueue } from '../notifications/payment-event';
import { PaymentEventDeserializer } from './payment-events.deserializer';

/** Nest's RabbitMQ transport for the Orders consumer: its partner queue, manual acks, our deserializer. */
export function ordersConsumerOptions(config: AppConfig): MicroserviceOptions {
  return {
    transport: Transport.RMQ,
    options: {
      // The nodes of the cluster, tried in turn, as the PaymentCenter's own link does (amqp.connection.ts).
      urls: [...config.rabbitmqUrls],
      queue: partnerQueue(config.ordersPartner),
      // Same arguments the PaymentCenter declares the queue with (asserting differently would fail).
      queueOptions: { durable: true, arguments: partnerQueueArguments(config.partnerDeliveryLimit) },
      noAck: false,
      prefetchCount: 20,
      deserializer: new PaymentEventDeserializer(),
    },
  };
}
