import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Who did what with the admin console or API, when, and to how many things; refused sign-ins too. Written
 * only by AdminAuditLog and FailedSignIns, next to this file.
 */
@Entity({ name: 'admin_audit' })
export class AdminAudit {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'varchar', length: 64 })
  actor: string;

  @Column({ type: 'varchar', length: 64 })
  action: string;

  @Column({ type: 'text' })
  target: string;

  @Column({ name: 'affected', type: 'int' })
  affected: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}
