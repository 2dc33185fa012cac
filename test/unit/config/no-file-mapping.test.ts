/** loadConfig's noFileMapping option: file sections become CONFIG_NEEDS_ROOT errors. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigErrors } from '../../../src/errors.js';
import { builtinModules } from '../../../src/modules.js';

async function errorsOf(text: string, hint?: string): Promise<string[]> {
  const failure = await loadConfig({
    text,
    textName: 't.conf',
    modules: builtinModules(),
    ...(hint ? { noFileMapping: { hint } } : {}),
  }).then(
    async (config) => {
      await config.close();
      return [];
    },
    (err: unknown) => {
      if (!(err instanceof ConfigErrors)) throw err;
      return err.errors.map((e) => e.toString());
    },
  );
  return failure;
}

const TEXT = [
  '<Directory "/srv/www">', //                        1
  '  <Files "a.txt">', //                               2
  '    Require all denied', //                          3
  '  </Files>', //                                      4
  '  Requir valid-user', //                             5: still reported
  '</Directory>', //                                    6
  '<Directory ~ "^/srv">', //                           7
  '  Require all denied', //                            8
  '</Directory>', //                                    9
  '<Location "/x">', //                                10
  '  Require all denied', //                           11
  '</Location>', //                                    12
  '<LocationMatch "^/y">', //                          13
  '  Require all denied', //                           14
  '</LocationMatch>', //                               15
].join('\n');

describe('loadConfig noFileMapping', () => {
  it('reports every file section with the hint, and still checks what is inside', async () => {
    const errors = await errorsOf(TEXT, 'pass root');
    expect(errors).toEqual([
      't.conf:1: <Directory>: <Directory> matches files, and requests are not mapped to files here (pass root)',
      't.conf:2: <Files>: <Files> matches files, and requests are not mapped to files here (pass root)',
      expect.stringMatching(/^t\.conf:5: Requir: Invalid command 'Requir'/),
      't.conf:7: <Directory>: <Directory> matches files, and requests are not mapped to files here (pass root)',
    ]);
  });

  it('changes nothing when not set', async () => {
    const errors = await errorsOf(TEXT);
    expect(errors).toEqual([expect.stringMatching(/^t\.conf:5: Requir:/)]);
  });

  it('lets <Location> and <LocationMatch> load', async () => {
    expect(await errorsOf(TEXT.split('\n').slice(9).join('\n'), 'pass root')).toEqual([]);
  });
});
