/**
 * The aggregate code's one script (served from our origin: the pages allow no inline script). It reads what the
 * page says in data attributes — never HTML — and hands it to the vendor's in-app bridge or posts the vendor's
 * form; whatever the bridge answers, the buyer goes to the return page, which shows what our server holds.
 */
export const CHECKOUT_JS = `(function () {
  'use strict';
  var root = document.getElementById('checkout');
  if (!root) return;
  var kind = root.getAttribute('data-kind');
  var back = root.getAttribute('data-return');
  var params = JSON.parse(root.getAttribute('data-params') || '{}');
  function done() { if (back) window.location.href = back; }
  function whenReady(name, event, run) {
    if (window[name]) run();
    else document.addEventListener(event, run, false);
  }
  function start() {
    if (kind === 'form') {
      document.getElementById('vendor-form').submit();
    } else if (kind === 'wechat_jsapi') {
      whenReady('WeixinJSBridge', 'WeixinJSBridgeReady', function () {
        window.WeixinJSBridge.invoke('getBrandWCPayRequest', params, done);
      });
    } else if (kind === 'alipay_trade_no') {
      whenReady('AlipayJSBridge', 'AlipayJSBridgeReady', function () {
        window.AlipayJSBridge.call('tradePay', { tradeNO: params.tradeNo }, done);
      });
    }
  }
  var again = document.getElementById('pay-again');
  if (again) again.addEventListener('click', start);
  start();
})();
`;
