/**
 * The service's errors in the user's language: every code of the registry (common/errors.ts ERRORS) and the apps'
 * own codes have a sentence in all four languages, and the errors a student meets in the analyser, made by the
 * real service (inject) over real files, read in Spanish, French and Portuguese with their details: the position
 * in the expression, the suggestion, the limit, the dataset and file.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, NOTICES } from '../../common/errors.ts';
import { Api, ApiError, type AnalysisRequest } from '../../apps/shared/api.ts';
import { CLIENT_ERROR_CODES, describeError, noticeText, type RequestText } from '../../apps/shared/errors.ts';
import { LANGUAGES, MESSAGES, setLanguage, type Language } from '../../apps/shared/i18n.ts';
import { buildApp } from '../../services/analysis/app.ts';
import { makeDatasets, type Fixture } from '../service/fixtures.ts';

describe('a sentence for every error code', () => {
  it.each(LANGUAGES)('%s translates every code of ERRORS and the apps’ own codes', (lang) => {
    const codes = [...Object.keys(ERRORS), ...CLIENT_ERROR_CODES];
    const missing = codes.filter((code) => {
      const text = (MESSAGES[lang] as Record<string, string | undefined>)[`error.${code}`];
      return text === undefined || text.trim() === '';
    });
    expect(missing).toEqual([]);
  });

  it.each(LANGUAGES)('%s translates every notice of NOTICES', (lang) => {
    const missing = Object.keys(NOTICES).filter(
      (code) => ((MESSAGES[lang] as Record<string, string | undefined>)[`notice.${code}`] ?? '').trim() === '',
    );
    expect(missing).toEqual([]);
  });
});

let fixture: Fixture;
let app: FastifyInstance;
let busy: FastifyInstance;

beforeAll(async () => {
  fixture = makeDatasets();
  app = await buildApp({ datasets: fixture.root, workers: 1 });
  busy = await buildApp({ datasets: fixture.root, workers: 1, maxPerClient: 0 });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await busy?.close();
  fixture?.dispose();
});

const mll = { name: 'pt', expr: 'lep_pt[0]/1000', bins: 50, min: 0, max: 200 };

/** The error the service gives for a request: the 4xx body, or the failed analysis's error. */
async function errorOf(body: unknown, on = app): Promise<unknown> {
  const response = await on.inject({ method: 'POST', url: '/api/analyses?wait=1', payload: body as object });
  const json = response.json<Record<string, unknown>>();
  if (response.statusCode >= 400)
    return new ApiError(
      response.statusCode,
      String(json.message),
      String(json.code),
      json.params as Record<string, string | number>,
    );
  expect(json.state, JSON.stringify(json)).toBe('failed');
  return json.error;
}

function inEvery(error: unknown, request?: RequestText): Record<Language, string> {
  const out = {} as Record<Language, string>;
  for (const lang of LANGUAGES) {
    setLanguage(lang);
    out[lang] = describeError(error, request);
  }
  setLanguage('en');
  return out;
}

/** Every language says it with all its details filled in, and each in its own words. */
function checkTranslated(texts: Record<Language, string>): void {
  for (const lang of LANGUAGES) expect(texts[lang], lang).not.toMatch(/\{\w+\}/);
  for (const lang of LANGUAGES.filter((l) => l !== 'en')) expect(texts[lang], lang).not.toBe(texts.en);
  // The English message of the service is not what the user reads.
  expect(texts.es).not.toMatch(/unknown|column|bins in all|must be/);
}

describe('errors a student meets, in their language with their details', () => {
  it('a syntax error: where (field and character), what is wrong, what would fit, the text at the spot', async () => {
    const request = { dataset: 'atlas', selection: 'lep_n = 2', histograms: [mll] };
    const texts = inEvery(await errorOf(request), request);
    checkTranslated(texts);
    expect(texts.en).toBe('Selection, character 7: “=” does not fit here. Did you mean “==”? — lep_n ▸= 2');
    expect(texts.es).toBe('Selección, carácter 7: “=” no encaja aquí. ¿Quería decir “==”? — lep_n ▸= 2');
    expect(texts.fr).toBe(
      'Sélection, caractère 7 : « = » n’a pas sa place ici. Vouliez-vous dire « == » ? — lep_n ▸= 2',
    );
    expect(texts.pt).toBe('Seleção, caractere 7: “=” não cabe aqui. Queria dizer “==”? — lep_n ▸= 2');
  });

  it('an incomplete expression and a missing bracket say what was expected', async () => {
    const request = { dataset: 'atlas', selection: '(lep_n == 2', histograms: [mll] };
    const texts = inEvery(await errorOf(request), request);
    checkTranslated(texts);
    expect(texts.es).toBe('Selección, carácter 12: la expresión está incompleta. Se esperaba “)”. — (lep_n == 2▸');
  });

  it('an unknown branch names the closest ones', async () => {
    const request = { dataset: 'atlas', selection: 'lep_ptt[0] > 25000', histograms: [mll] };
    const error = await errorOf(request);
    expect((error as ApiError).code).toBe('E_UNKNOWN_BRANCH');
    const texts = inEvery(error, request);
    checkTranslated(texts);
    expect(texts.es).toMatch(
      /^Selección, carácter 1: este conjunto de datos no tiene la rama “lep_ptt”\. ¿Quería decir “lep_pt”/,
    );
    expect(texts.pt).toContain('Queria dizer “lep_pt”');
  });

  it('a sample of several that lacks a branch: which dataset, and why', async () => {
    const request = { datasets: ['atlas', 'hzz'], selection: 'lep_n == 2', histograms: [mll] };
    const error = await errorOf(request);
    expect((error as ApiError).code).toBe('E_SAMPLES');
    const texts = inEvery(error, request);
    checkTranslated(texts);
    expect(texts.fr).toMatch(
      /^Jeu de données « hzz » : Sélection, caractère 1 : ce jeu de données n’a pas de branche « lep_n »/,
    );
  });

  it('too many bins, and a bad binning, give the limit', async () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ ...mll, name: `h${i}`, bins: 100_000 }));
    const texts = inEvery(await errorOf({ dataset: 'atlas', histograms: many }));
    checkTranslated(texts);
    expect(texts.es).toBe(
      'Demasiados intervalos: 1.100.000 en total, como máximo 1.000.000 por análisis. Use menos intervalos o menos histogramas.',
    );
    const bad = inEvery(await errorOf({ dataset: 'atlas', histograms: [{ ...mll, min: 10, max: 5 }] }));
    checkTranslated(bad);
    expect(bad.pt).toContain('“pt”');
    expect(bad.pt).toContain('100.000');
  });

  it('a luminosity ≤ 0 and an unknown dataset (with the closest names)', async () => {
    const lumi = inEvery(await errorOf({ datasets: ['atlas'], luminosity: -1, histograms: [mll] }));
    checkTranslated(lumi);
    expect(lumi.fr).toBe('La luminosité doit être supérieure à 0 (elle vaut -1 fb⁻¹).');
    const unknown = inEvery(await errorOf({ dataset: 'atlass', histograms: [mll] }));
    checkTranslated(unknown);
    expect(unknown.es).toMatch(/^El servicio no tiene el conjunto de datos “atlass”\. ¿Quería decir “atlas”/);
  });

  it('a damaged ROOT file is named', async () => {
    const error = await errorOf({
      dataset: 'broken',
      histograms: [{ name: 'n', expr: 'NMuon', bins: 5, min: 0, max: 5 }],
    });
    expect((error as { code: string }).code).toBe('E_ROOT_CORRUPT');
    const texts = inEvery(error);
    checkTranslated(texts);
    expect(texts.es).toBe('El archivo “truncated.root” está dañado: no se puede leer.');
  });

  it('a busy client and a body too large give their limits', async () => {
    const texts = inEvery(await errorOf({ dataset: 'atlas', histograms: [mll] }, busy));
    checkTranslated(texts);
    expect(texts.pt).toBe(
      'Você já tem 0 análises em curso ou em espera (no máximo 0): espere uma terminar ou cancele uma.',
    );
    const huge = { dataset: 'atlas', selection: `${'1 + '.repeat(300_000)}1`, histograms: [mll] };
    const large = inEvery(await errorOf(huge));
    checkTranslated(large);
    expect(large.fr).toBe('La réponse serait trop grande : la limite est 1,05 MB.');
  });

  it('a result’s notices (a sample drawn unnormalised, no luminosity) read in every language', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/analyses?wait=1',
      payload: { datasets: ['atlas'], histograms: [mll] },
    });
    const result = response.json<{ result: { notices: { code: string; params: Record<string, string | number> }[] } }>()
      .result;
    expect(result.notices.map((n) => n.code)).toContain('W_UNNORMALISED');
    expect(result.notices.map((n) => n.code)).toContain('W_NO_LUMINOSITY');
    const w = result.notices.find((n) => n.params.file === 'mc_167746.WtaunuWithB.root')!;
    const texts = {} as Record<Language, string>;
    for (const lang of LANGUAGES) {
      setLanguage(lang);
      texts[lang] = noticeText(w.code, w.params);
    }
    setLanguage('en');
    checkTranslated(texts);
    expect(texts.es).toBe(
      'W (atlas/mc_167746.WtaunuWithB.root) se dibuja sin normalizar: a sus etiquetas les falta crossSectionPb, sumOfWeights.',
    );
  });

  it('a field the contract does not know is named', async () => {
    const texts = inEvery(await errorOf({ dataset: 'atlas', histograms: [mll], colour: 'red' }));
    checkTranslated(texts);
    expect(texts.es).toBe('El servicio rechazó la petición. (campo “body.colour”)');
  });

  it('the service or the network down is E_NETWORK, in words a student can act on', async () => {
    // A port nothing listens on: the app that was there has closed.
    const gone = await buildApp({ datasets: fixture.root, workers: 1 });
    const address = await gone.listen({ host: '127.0.0.1', port: 0 });
    await gone.close();
    const error = await new Api(new URL(`${address}/`))
      .submit({ dataset: 'atlas', histograms: [mll] } as AnalysisRequest)
      .catch((e: unknown) => e);
    expect((error as ApiError).code).toBe('E_NETWORK');
    const texts = inEvery(error);
    checkTranslated(texts);
    expect(texts.es).toBe(
      'No se puede contactar con el servicio de análisis: compruebe la conexión con la llave y vuelva a intentarlo.',
    );
  });
});
