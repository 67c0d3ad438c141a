import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Partners over HTTP and the events API.
 *
 * - `event_deliveries` of a webhook partner carry their own retry schedule: `next_attempt_at` (due time; while
 *   a dispatcher holds a claim, the claim's expiry), `claimed_by`, and `schedule_step` (failed sends in the
 *   current round: a replay or an operator's retry starts a new round; `attempts` keeps counting every send).
 *   A RabbitMQ partner's deliveries leave them NULL: they go out with their event (the outbox relay).
 * - `outbox_events.application_id` is the application of the event's payment (from its body, where it has always
 *   been): the events API lists one application's events, oldest first, by (application_id, created_at, id).
 */
export class WebhooksAndEventFeed1765400000000 implements MigrationInterface {
  name = 'WebhooksAndEventFeed1765400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE event_deliveries
        ADD COLUMN next_attempt_at DATETIME(3) NULL AFTER attempts,
        ADD COLUMN claimed_by VARCHAR(64) NULL AFTER next_attempt_at,
        ADD COLUMN schedule_step INT NOT NULL DEFAULT 0 AFTER claimed_by,
        ADD INDEX ix_delivery_partner_due (partner, status, next_attempt_at)`);
    await queryRunner.query(`
      ALTER TABLE outbox_events
        ADD COLUMN application_id VARCHAR(32) NULL AFTER payment_no,
        ADD INDEX ix_outbox_application_feed (application_id, created_at, id)`);
    await queryRunner.query(`
      UPDATE outbox_events
         SET application_id = NULLIF(JSON_UNQUOTE(JSON_EXTRACT(body, '$.payment.applicationId')), 'null')
       WHERE JSON_EXTRACT(body, '$.payment.applicationId') IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE outbox_events DROP INDEX ix_outbox_application_feed, DROP COLUMN application_id`,
    );
    await queryRunner.query(`
      ALTER TABLE event_deliveries
        DROP INDEX ix_delivery_partner_due, DROP COLUMN schedule_step, DROP COLUMN claimed_by,
        DROP COLUMN next_attempt_at`);
  }
}
