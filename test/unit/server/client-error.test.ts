import { describe, expect, it } from 'vitest';
import { clientErrorStatus, loggedRequestLine } from '../../../src/server/client-error.js';

describe('clientErrorStatus', () => {
  it("answers what node:http's own handler answers", () => {
    expect(clientErrorStatus('HPE_HEADER_OVERFLOW')).toBe(431);
    expect(clientErrorStatus('HPE_CHUNK_EXTENSIONS_OVERFLOW')).toBe(413);
    expect(clientErrorStatus('ERR_HTTP_REQUEST_TIMEOUT')).toBe(408);
    expect(clientErrorStatus('HPE_INVALID_METHOD')).toBe(400);
    expect(clientErrorStatus('HPE_INVALID_HEADER_TOKEN')).toBe(400);
    expect(clientErrorStatus(undefined)).toBe(400);
  });
});

describe('loggedRequestLine (httpd rebuilds a refused request line from its first three words)', () => {
  const line = (text: string): string | undefined => loggedRequestLine(Buffer.from(text, 'latin1'));

  it('takes the first line, without CR LF or a bare LF', () => {
    expect(line('GET /a HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('GET /a HTTP/1.1');
    expect(line('GET /a HTTP/1.1\nHost: x\n\n')).toBe('GET /a HTTP/1.1');
    expect(line('GET /a HTTP/1.1')).toBe('GET /a HTTP/1.1');
  });

  it('joins the words with single spaces and drops what follows the third', () => {
    expect(line('GET /a  b HTTP/1.1\r\n')).toBe('GET /a b');
    expect(line('  GET\t/a HTTP/1.1 trailing text\r\n')).toBe('GET /a HTTP/1.1');
    expect(line('GET\r\n')).toBe('GET');
  });

  it('keeps bytes as latin1 characters (the log escapes them) and cuts at 8,190 bytes', () => {
    expect(line('G\xe9T /\x01 HTTP/1.1\r\n')).toBe('G\xe9T /\x01 HTTP/1.1');
    const long = line(`GET /${'a'.repeat(10_000)} HTTP/1.1\r\n`);
    expect(long).toBe(`GET /${'a'.repeat(8_190 - 5)}`);
  });

  it('is undefined when there is no word', () => {
    expect(line('')).toBeUndefined();
    expect(line('   \r\n')).toBeUndefined();
    expect(line('\r\nGET / HTTP/1.1\r\n')).toBeUndefined();
  });
});
