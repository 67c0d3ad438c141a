import { barcodeChannel, channelOfAuthCode } from './auth-code';

describe('whose payment code it is', () => {
  it.each([
    ['134567890123456789', 'wechat'],
    ['104567890123456789', 'wechat'],
    ['154567890123456789', 'wechat'],
    ['2834567890123456', 'alipay'], // 16 digits, the shortest
    ['283456789012345678', 'alipay'],
    ['304567890123456789012345', 'alipay'], // 24 digits, the longest
    ['6234567890123456789', 'unionpay'],
  ])('%s is %s', (code, channel) => {
    expect(channelOfAuthCode(code)).toBe(channel);
    expect(barcodeChannel(code)).toBe(channel);
    expect(barcodeChannel(code, channel as never)).toBe(channel);
  });

  it.each([
    ['164567890123456789', 'a 16 prefix at 18 digits'],
    ['1345678901234567', 'WeChat at 16 digits'],
    ['243456789012345678', 'a 24 prefix'],
    ['3045678901234567890123456', 'Alipay at 25 digits'],
    ['623456789012345678', 'UnionPay at 18 digits'],
    ['9934567890123456789', 'a 99 prefix'],
    ['13456789012345678a', 'a letter'],
    ['', 'nothing'],
  ])('%s (%s) is nobody’s', (code) => {
    expect(channelOfAuthCode(code)).toBeUndefined();
    expect(barcodeChannel(code)).toEqual({ refused: expect.stringContaining("matches no channel's payment code") });
  });

  it('a channel named with a code of another is refused, naming the rule', () => {
    expect(barcodeChannel('283456789012345678', 'wechat')).toEqual({
      refused: 'authCode is not a wechat payment code (18 digits beginning 10–15)',
    });
  });

  it('the formats do not overlap: no code of any length and prefix matches two channels', () => {
    for (let length = 10; length <= 26; length++) {
      for (let prefix = 10; prefix <= 99; prefix++) {
        const code = `${prefix}${'0'.repeat(length - 2)}`;
        const matches = (['wechat', 'alipay', 'unionpay'] as const).filter(
          (channel) => typeof barcodeChannel(code, channel) === 'string',
        );
        expect(matches.length).toBeLessThanOrEqual(1);
      }
    }
  });
});
