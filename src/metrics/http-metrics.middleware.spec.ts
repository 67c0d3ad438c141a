import { routeTemplate } from './http-metrics.middleware';

describe('routeTemplate', () => {
  it('is the declared route, with the mount path of a sub-router, never the raw path', () => {
    expect(routeTemplate({ baseUrl: '', route: { path: '/api/orders/:orderNo' } })).toBe('/api/orders/:orderNo');
    expect(routeTemplate({ baseUrl: '/admin/queues', route: { path: '/api/queues/:name' } })).toBe(
      '/admin/queues/api/queues/:name',
    );
  });

  it("is Fastify's route as registered, when the request is Fastify's", () => {
    expect(routeTemplate({ routeOptions: { url: '/api/orders/:orderNo/pay' } })).toBe('/api/orders/:orderNo/pay');
    expect(routeTemplate({ routeOptions: {} })).toBe('unmatched');
  });

  it('puts every request that matched no route in one series', () => {
    expect(routeTemplate({ baseUrl: '' })).toBe('unmatched');
    expect(routeTemplate({ route: { path: /^\/regex/ } })).toBe('unmatched');
  });
});
