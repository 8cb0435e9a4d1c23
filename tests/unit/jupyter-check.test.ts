/**
 * The Jupyter boot checks' own parts (builder/tools/jupyter-check.ts): the cookie jar and the login form's _xsrf as
 * JupyterHub sends them, the probe cell run in a real Python, and the verdicts on a notebook's output. The checks
 * themselves run against a booted key in tests/e2e/mu-boot.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CookieJar,
  formXsrf,
  insideCell,
  missesExpectation,
  parseInside,
  teacherPasswordFrom,
  Z_MASS_EXPECTATION,
} from '../../builder/tools/jupyter-check.ts';

describe('the hub login as a browser makes it', () => {
  it('keeps cookies from Set-Cookie and forgets expired ones', () => {
    const jar = new CookieJar();
    const first = new Headers();
    first.append('set-cookie', '_xsrf=2|abc|def; Path=/hub/; SameSite=Lax');
    first.append('set-cookie', 'jupyterhub-session-id=s1; HttpOnly; Path=/');
    jar.take(first);
    expect(jar.header()).toBe('_xsrf=2|abc|def; jupyterhub-session-id=s1');
    const second = new Headers();
    second.append('set-cookie', 'jupyterhub-session-id=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/');
    second.append('set-cookie', 'jupyterhub-hub-login="2|1:0|10:17"; HttpOnly; Path=/hub/');
    jar.take(second);
    expect(jar.get('jupyterhub-session-id')).toBeUndefined();
    expect(jar.header()).toBe('_xsrf=2|abc|def; jupyterhub-hub-login="2|1:0|10:17"');
  });

  it("reads the login form's _xsrf field", () => {
    // As JupyterHub 5's login.html renders it.
    const html =
      '<form action="/hub/login?next=" method="post" role="form">\n<input type="hidden" name="_xsrf" value="2|9f3e|aa|1733"/>';
    expect(formXsrf(html)).toBe('2|9f3e|aa|1733');
    expect(formXsrf('<input value="x1" name="_xsrf">')).toBe('x1');
    expect(formXsrf('<form></form>')).toBeUndefined();
  });

  it("finds the teacher's password in the console banner, the latest one", () => {
    const lines = [
      '  Class notebooks (JupyterHub): http://10.0.2.15:8888/',
      '    teacher:  name teacher, password  aaaa-bbbb-cccc-dddd  (sees the notebooks of every student)',
      'OPENKEY-LOG something',
      '    teacher:  name teacher, password  eeee-ffff-gggg-hhhh  (sees the notebooks of every student)',
    ];
    expect(teacherPasswordFrom(lines)).toBe('eeee-ffff-gggg-hhhh');
    expect(teacherPasswordFrom(lines.slice(2, 3))).toBeUndefined();
  });
});

describe('the probe cell', () => {
  it('runs in Python as an unprivileged user and sorts the homes it can open, cannot open, and that are missing', () => {
    const homes = mkdtempSync(join(tmpdir(), 'openkey-homes-'));
    try {
      mkdirSync(join(homes, 'open'), { mode: 0o755 });
      mkdirSync(join(homes, 'closed'), { mode: 0o700 });
      chmodSync(homes, 0o755);
      // setpriv as on the key: nobody, with no groups, so the kernel really refuses (root would read everything).
      const out = execFileSync(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          '/usr/bin/python3',
          '-c',
          insideCell(['open', 'closed', 'gone'], homes),
        ],
        { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', USER: 'nobody' } },
      );
      expect(parseInside(out)).toMatchObject({
        user: 'nobody',
        uid: 65534,
        readable: ['open'],
        denied: ['closed'],
        missing: ['gone'],
      });
    } finally {
      rmSync(homes, { recursive: true, force: true });
    }
  });
});

describe('the notebook verdict', () => {
  it.each([
    ['fitted Z mass: 91.25 ± 0.03 GeV', undefined],
    ['fitted Z mass: 92.5 ± 0.03 GeV', 'z-mass.ipynb found 92.5, not within 1 of 91.19'],
    ['no fit today', 'z-mass.ipynb printed no /fitted Z mass: ([\\d.]+) ±/'],
  ])('%s', (stdout, reason) => {
    expect(missesExpectation(stdout, Z_MASS_EXPECTATION)).toBe(reason);
  });
});
