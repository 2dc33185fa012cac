/**
 * The conformance tables, run against a private Apache httpd and `authts serve` started with the
 * same configuration and files: for every request both must give the table's status (and
 * challenge, where the table names one). A failure shows both answers side by side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRequest, send, startPeers, type Peers } from './peers.js';
import { conformanceCases } from './tables.js';

for (const testCase of conformanceCases) {
  describe(testCase.name, () => {
    let peers: Peers;
    beforeAll(async () => {
      peers = await startPeers(testCase);
    });
    afterAll(async () => {
      await peers?.stop();
    });

    for (const request of testCase.requests) {
      it(describeRequest(request), async () => {
        const [httpd, authts] = await Promise.all([send(peers.httpd.url, request), send(peers.authtsUrl, request)]);
        const seen = { httpd: httpd.status, authts: authts.status };
        expect(seen).toEqual({ httpd: request.status, authts: request.status });
        if (request.challenge !== undefined) {
          expect({
            httpd: httpd.headers['www-authenticate'] ?? null,
            authts: authts.headers['www-authenticate'] ?? null,
          }).toEqual({ httpd: request.challenge, authts: request.challenge });
        }
        if (request.status === 200 && request.method !== 'HEAD') {
          expect(authts.body).toBe(httpd.body);
        }
      });
    }
  });
}
