// APR's apr_ipsubnet_create / apr_ipsubnet_test rules; accept/reject decisions checked against
// Apache/2.4.71 `Require ip`.
import { describe, expect, it } from 'vitest';
import { parseAddress, parseSubnet, sameAddress, subnetContains, type IpSubnet } from '../../../src/expr/ipsubnet.js';

function subnet(text: string): IpSubnet {
  const slash = text.indexOf('/');
  const result = slash < 0 ? parseSubnet(text, undefined) : parseSubnet(text.slice(0, slash), text.slice(slash + 1));
  if (typeof result === 'string') throw new Error(`${text}: ${result}`);
  return result;
}

function error(text: string): string {
  const slash = text.indexOf('/');
  const result = slash < 0 ? parseSubnet(text, undefined) : parseSubnet(text.slice(0, slash), text.slice(slash + 1));
  if (typeof result !== 'string') throw new Error(`${text} parsed`);
  return result;
}

function contains(net: string, addr: string): boolean {
  const a = parseAddress(addr);
  if (!a) throw new Error(`bad address ${addr}`);
  return subnetContains(subnet(net), a);
}

describe('parseSubnet', () => {
  it('reads full and partial IPv4, bit counts and dotted masks', () => {
    expect(subnet('10.1.2.3')).toEqual({ family: 4, sub: [0x0a010203, 0, 0, 0], mask: [0xffffffff, 0, 0, 0] });
    expect(subnet('10.1')).toEqual({ family: 4, sub: [0x0a010000, 0, 0, 0], mask: [0xffff0000, 0, 0, 0] });
    expect(subnet('10.1.')).toEqual(subnet('10.1'));
    expect(subnet('192.168')).toEqual(subnet('192.168.0.0/16'));
    expect(subnet('1')).toEqual(subnet('1.0.0.0/8'));
    expect(subnet('1.2.3.4.')).toEqual(subnet('1.2.3.4'));
    expect(subnet('10.9.9.9/8')).toEqual({ family: 4, sub: [0x0a000000, 0, 0, 0], mask: [0xff000000, 0, 0, 0] });
    expect(subnet('10.0.0.0/255.255.0.0')).toEqual(subnet('10.0.0.0/16'));
    expect(subnet('10.0.0.0/255.0.255.0').mask[0]).toBe(0xff00ff00);
    expect(subnet('10.0.0.0/08')).toEqual(subnet('10.0.0.0/8'));
    expect(subnet('10.0.0.0/+8')).toEqual(subnet('10.0.0.0/8'));
    expect(subnet('010.0.0.1')).toEqual(subnet('10.0.0.1'));
  });

  it('reads IPv6 with and without a length', () => {
    expect(subnet('::1')).toEqual({ family: 6, sub: [0, 0, 0, 1], mask: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff] });
    expect(subnet('2001:db8::/32')).toEqual({ family: 6, sub: [0x20010db8, 0, 0, 0], mask: [0xffffffff, 0, 0, 0] });
    expect(subnet('fe80::/10').mask).toEqual([0xffc00000, 0, 0, 0]);
    expect(subnet('::/1').mask).toEqual([0x80000000, 0, 0, 0]);
    expect(subnet('1:2:3:4:5:6:7:8/127').sub).toEqual([0x00010002, 0x00030004, 0x00050006, 0x00070008]);
    expect(subnet('64:ff9b::192.0.2.1').sub).toEqual([0x0064ff9b, 0, 0, 0xc0000201]);
  });

  it('classifies failures as APR does', () => {
    expect(error('foo')).toBe('not-ip');
    expect(error('foo.example')).toBe('not-ip');
    expect(error('')).toBe('not-ip');
    expect(error('10.1/16')).toBe('bad-ip');
    expect(error('256.0.0.1')).toBe('bad-ip');
    expect(error('10..1')).toBe('bad-ip');
    expect(error('10.1.2.3.4')).toBe('bad-ip');
    expect(error('::ffff:10.0.0.1')).toBe('bad-ip');
    expect(error('fe80::1%lo')).toBe('bad-ip');
    expect(error('[::1]')).toBe('bad-ip');
    expect(error('1::2::3')).toBe('bad-ip');
    expect(error('10.0.0.0/0')).toBe('bad-mask');
    expect(error('10.0.0.0/33')).toBe('bad-mask');
    expect(error('10.0.0.0/8x')).toBe('bad-mask');
    expect(error('10.0.0.0/-8')).toBe('bad-mask');
    expect(error('10.0.0.0/')).toBe('bad-mask');
    expect(error('::1/129')).toBe('bad-mask');
    expect(error('2001:db8::/ffff::')).toBe('bad-mask');
    expect(error('2001:db8::/255.255.0.0')).toBe('bad-mask');
    expect(error('10.0.0.0/255.255.0.0/8')).toBe('bad-mask');
  });

  it('returns frozen subnets', () => {
    expect(Object.isFrozen(subnet('10.1'))).toBe(true);
  });
});

describe('parseAddress', () => {
  it('reads addresses as getaddrinfo does, IPv4-mapped as IPv4', () => {
    expect(parseAddress('192.0.2.1')).toEqual({ family: 4, words: [0xc0000201, 0, 0, 0] });
    expect(parseAddress('::ffff:192.0.2.1')).toEqual(parseAddress('192.0.2.1'));
    expect(parseAddress('::FFFF:c000:0201')).toEqual(parseAddress('192.0.2.1'));
    expect(parseAddress('010.0.0.1')).toEqual(parseAddress('8.0.0.1'));
    expect(parseAddress('10.1')).toEqual(parseAddress('10.0.0.1'));
    expect(parseAddress('::1')).toEqual({ family: 6, words: [0, 0, 0, 1] });
    expect(parseAddress('localhost')).toBeUndefined();
    expect(parseAddress('')).toBeUndefined();
    expect(parseAddress('1.2.3.4.')).toBeUndefined();
  });

  it('compares addresses with IPv4-mapped equal to IPv4', () => {
    expect(sameAddress(parseAddress('::ffff:127.0.0.1')!, parseAddress('127.0.0.1')!)).toBe(true);
    expect(sameAddress(parseAddress('::1')!, parseAddress('127.0.0.1')!)).toBe(false);
  });
});

describe('subnetContains', () => {
  it('tests IPv4, IPv6, and IPv4-mapped IPv6 against IPv4 subnets only', () => {
    expect(contains('10.1', '10.1.200.3')).toBe(true);
    expect(contains('10.1', '10.2.0.1')).toBe(false);
    expect(contains('10.0.0.0/255.0.255.0', '10.99.0.7')).toBe(true);
    expect(contains('10.0.0.0/255.0.255.0', '10.99.1.7')).toBe(false);
    expect(contains('127.0.0.0/8', '::ffff:127.9.9.9')).toBe(true);
    expect(contains('2001:db8::/32', '2001:db8:ffff::1')).toBe(true);
    expect(contains('2001:db8::/33', '2001:db8:ffff::1')).toBe(false);
    expect(contains('::/1', '::ffff:10.0.0.1')).toBe(false);
    expect(contains('::/1', '127.0.0.1')).toBe(false);
    expect(contains('0.0.0.0/1', '::1')).toBe(false);
  });
});
