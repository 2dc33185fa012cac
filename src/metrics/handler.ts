/**
 * `SetHandler authts-metrics`: the server's figures in Prometheus's text format, from its own
 * registry (src/metrics/metrics.ts). Like every location, the section's own `Require` rules
 * decide who may read it; only a section that sets the handler turns the metrics on.
 */
import type { Module } from '../module.js';
import { serverMetricsFor } from './server-observability.js';

/**
 * The module with the `authts-metrics` content handler.
 *
 * @example
 * ```apache
 * <Location /metrics>
 *     SetHandler authts-metrics
 *     Require ip 127.0.0.1 10.0.0.0/8
 * </Location>
 * ```
 */
export const authTsMetrics: Module = {
  name: 'authts_metrics',
  contentHandlers: [
    {
      name: 'authts-metrics',
      async handle(ctx) {
        const metrics = serverMetricsFor(ctx.config);
        // Only `authts serve` runs content handlers, and it binds every configuration with this
        // handler to its metrics: anything else is a bug, answered 500 by the server.
        if (metrics === undefined) throw new Error('authts-metrics: this configuration is not served by authts serve');
        if (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD') {
          ctx.res.statusCode = 405;
          ctx.res.setHeader('Allow', 'GET, HEAD');
          ctx.res.end();
          return;
        }
        const text = await metrics.registry.metrics();
        ctx.res.statusCode = 200;
        ctx.res.setHeader('Content-Type', metrics.registry.contentType);
        ctx.res.setHeader('Cache-Control', 'no-store');
        ctx.res.setHeader('Content-Length', Buffer.byteLength(text));
        ctx.res.end(ctx.req.method === 'HEAD' ? undefined : text);
      },
    },
  ],
};
