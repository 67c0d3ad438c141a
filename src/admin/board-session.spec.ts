import type { AdminTokenConfig } from '../config/environment';
import { BOARD_SESSION_MS, boardCookie, cookieValue, issueBoardSession, verifyBoardSession } from './board-session';

const ops: AdminTokenConfig = { name: 'ops-alice', token: 'alice-token-0123456789abcdef', scopes: ['queues:read'] };
const bob: AdminTokenConfig = { name: 'ops-bob', token: 'bob-token-0123456789abcdefgh', scopes: [] };
const now = new Date('2026-11-25T08:00:00Z');
const later = (ms: number) => new Date(now.getTime() + ms);

describe('queue board session', () => {
  it('is accepted for the token it was issued to until it expires', () => {
    const sut = issueBoardSession(ops, now);
    expect(sut.expiresAt).toEqual(later(BOARD_SESSION_MS));
    expect(verifyBoardSession([bob, ops], sut.value, now)).toBe(ops);
    expect(verifyBoardSession([bob, ops], sut.value, later(BOARD_SESSION_MS - 1))).toBe(ops);
    expect(verifyBoardSession([bob, ops], sut.value, later(BOARD_SESSION_MS))).toBeUndefined();
  });

  it('ends when the token is removed or replaced', () => {
    const sut = issueBoardSession(ops, now);
    expect(verifyBoardSession([bob], sut.value, now)).toBeUndefined();
    expect(verifyBoardSession([{ ...ops, token: 'a-new-token-for-alice-0123456' }], sut.value, now)).toBeUndefined();
  });

  it('cannot be forged or moved to another name or expiry', () => {
    const [name, expires, mac] = issueBoardSession(ops, now).value.split('.');
    const bobName = Buffer.from(bob.name).toString('base64url');
    expect(verifyBoardSession([ops, bob], `${bobName}.${expires}.${mac}`, now)).toBeUndefined();
    expect(verifyBoardSession([ops], `${name}.${Number(expires) + 60_000}.${mac}`, now)).toBeUndefined();
    expect(verifyBoardSession([ops], `${name}.${expires}.${'0'.repeat(64)}`, now)).toBeUndefined();
    for (const junk of ['', 'x', `${name}.${expires}`, `${name}.${expires}.${mac}.x`, `${name}.abc.${mac}`]) {
      expect(verifyBoardSession([ops], junk, now)).toBeUndefined();
    }
  });

  it('refuses an expiry further ahead than a session lasts', () => {
    const fromTheFuture = issueBoardSession(ops, later(60_000));
    expect(verifyBoardSession([ops], fromTheFuture.value, now)).toBeUndefined();
  });

  it('reads its cookie and writes it HttpOnly, SameSite=Strict, on the board path only', () => {
    expect(cookieValue('a=1; pc_queue_board=v.1.2; b=3', 'pc_queue_board')).toBe('v.1.2');
    expect(cookieValue('xpc_queue_board=1', 'pc_queue_board')).toBeUndefined();
    expect(cookieValue(undefined, 'pc_queue_board')).toBeUndefined();
    expect(boardCookie('v', BOARD_SESSION_MS, false)).toBe(
      'pc_queue_board=v; Path=/admin/queues; Max-Age=900; HttpOnly; SameSite=Strict',
    );
    expect(boardCookie('', 0, true)).toMatch(/Max-Age=0; HttpOnly; SameSite=Strict; Secure$/);
  });
});
