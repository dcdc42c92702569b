import type { Composition, Organization, Patient } from 'fhir/r4.js';
import { documentCopy } from '../../../src/handover/frisklivssentral-packet.ts';
import { buildHandoverPackets } from '../../../src/handover/packets.ts';
import { sessionRows } from '../../../src/handover/session-steps.ts';
import type { FrisklivssentralPacket, HandoverFacts, TrainingContactPacket } from '../../../src/handover/types.ts';
import { vo2maxChartSvg } from '../../../src/handover/vo2max-chart.ts';
import { planFourByFourSession } from '../../../src/domain/four-by-four.ts';
import { factsFor } from '../../support/ehr-view.ts';
import { handoverCohort, type CohortVariant } from '../../support/handover-cohort.ts';

const factsCache = new Map<CohortVariant, HandoverFacts>();
function facts(variant: CohortVariant): HandoverFacts {
  const cached = factsCache.get(variant) ?? factsFor(handoverCohort(variant));
  factsCache.set(variant, cached);
  return cached;
}

function both(f: HandoverFacts): { friskliv: FrisklivssentralPacket; contact: TrainingContactPacket } {
  const packets = buildHandoverPackets(f);
  if ('omitted' in packets.frisklivssentral || 'omitted' in packets.trainingContact)
    throw new Error('a packet is missing');
  return { friskliv: packets.frisklivssentral, contact: packets.trainingContact };
}

const HOSTILE = '<script>alert("x")</script> & <img src=x>';

describe('the HTML pages', () => {
  const { friskliv, contact } = both(facts('typical'));

  it.each([
    ['Frisklivssentral', friskliv.html],
    ['training contact', contact.html],
  ])('%s: self-contained and print-ready — no script, no external resource, print styles inline', (_who, html) => {
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="nb">/u);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('@media print');
    expect(html).not.toMatch(/<script|<link|<iframe|\bsrc=|\bhref=|url\(|@import/iu);
  });

  it('the Frisklivssentral page carries the VO2max chart inline as SVG', () => {
    expect(friskliv.html).toContain('<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"');
    expect(friskliv.html).toContain('aria-label="VO2maks fra 42,3 til 48,7 mL/kg/min"');
  });

  it('escapes every text that came in (summary, names, hospital) in the pages and the narratives', () => {
    const base = facts('typical');
    const hostile: HandoverFacts = {
      ...base,
      discharge: {
        ...base.discharge,
        summary: HOSTILE,
        patient: { ...base.discharge.patient, givenName: HOSTILE },
        recipients: { trainingContact: { name: HOSTILE } },
      },
      hospitalContact: { ...base.hospitalContact, organisation: HOSTILE },
    };
    const packets = both(hostile);
    // In FHIR JSON only the narratives are markup; plain strings (names, display) hold the text as it is.
    const divs = JSON.stringify(packets.friskliv.bundle).match(/"div":"(?:[^"\\]|\\.)*"/gu) ?? [];
    expect(divs.length).toBeGreaterThan(5);
    const texts = [packets.friskliv.html, packets.contact.html, ...divs];
    for (const text of texts) {
      expect(text).not.toContain('<script');
      expect(text).not.toContain('<img');
    }
    expect(packets.friskliv.html).toContain(
      '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#60;img src=x&#62;',
    );
  });
});

describe('vo2maxChartSvg', () => {
  const at = (date: string, value: number) => ({ at: `${date}T08:30:00+01:00`, value, identifierValue: date });

  it('draws nothing for fewer than two tests', () => {
    expect(vo2maxChartSvg([])).toBe('');
    expect(vo2maxChartSvg([at('2026-01-05', 42.3)])).toBe('');
  });

  it('places the tests by date across the plot (52 to 616 px) and labels them in Norwegian', () => {
    // 2 Feb → 1 Mar is 27 of the 55 days to 29 Mar: x = 52 + 27 / 55 × 564 = 328.9.
    const svg = vo2maxChartSvg([at('2026-02-02', 30.4), at('2026-03-01', 32.1), at('2026-03-29', 33.9)]);
    const points = /<polyline points="([^"]+)"/u
      .exec(svg)?.[1]
      ?.split(' ')
      .map((p) => Number(p.split(',')[0]));
    expect(points).toEqual([52, 328.9, 616]);
    for (const label of ['30,4', '32,1', '33,9', '02.02.2026', '01.03.2026', '29.03.2026'])
      expect(svg).toContain(`>${label}<`);
  });

  it('puts a higher VO2max higher on the page', () => {
    const svg = vo2maxChartSvg([at('2026-01-05', 42.3), at('2026-03-01', 48.7)]);
    const ys =
      /<polyline points="([^"]+)"/u
        .exec(svg)?.[1]
        ?.split(' ')
        .map((p) => Number(p.split(',')[1])) ?? [];
    expect(ys[1]).toBeLessThan(ys[0] ?? 0);
  });
});

describe('sessionRows', () => {
  it('HRmax 186: warm-up 1–10, four 4-minute intervals at 159–176 with 3-minute pauses at ca. 130, cool-down 36–40', () => {
    const plan = planFourByFourSession(186);
    if (!plan.ok) throw new Error(plan.reason);
    expect(sessionRows(plan.value).map((r) => [r.minutes, r.phase, r.pulse])).toEqual([
      ['1–10', 'warm-up', '–'],
      ['11–14', 'interval', '159–176'],
      ['15–17', 'active-pause', 'ca. 130'],
      ['18–21', 'interval', '159–176'],
      ['22–24', 'active-pause', 'ca. 130'],
      ['25–28', 'interval', '159–176'],
      ['29–31', 'active-pause', 'ca. 130'],
      ['32–35', 'interval', '159–176'],
      ['36–40', 'cool-down', '–'],
    ]);
  });

  it('gives the first interval 1–2 minutes to reach the zone and the later ones about 1, and says when to read the pulse', () => {
    const plan = planFourByFourSession(186);
    if (!plan.ok) throw new Error(plan.reason);
    const rows = sessionRows(plan.value);
    expect(rows[1]?.what).toContain('Bruk 1–2 minutter på å komme opp i pulssonen');
    expect(rows[3]?.what).toContain('i løpet av ca. 1 minutt');
    expect(rows[1]?.what).toContain('Sjekk pulsen i 3. minutt');
  });
});

describe('the training contact plan', () => {
  it('typical: 4x4 three times a week at 159–176 bpm with pauses at ca. 130, strength twice, 8 weeks', () => {
    const { plan } = both(facts('typical')).contact;
    expect(plan).toMatchObject({
      kind: 'training-contact-plan',
      language: 'nb',
      trainingContact: { name: 'Per Turvenn' },
      weeks: 8,
      interval: {
        sessionsPerWeek: 3,
        where: 'på tredemølle',
        inclinePercentMin: 5,
        zoneBpm: { low: 159, high: 176 },
        pauseBpm: 130,
        totalMinutes: 40,
      },
      strength: { sessionsPerWeek: 2, sets: 4, reps: 4, exercises: ['beinpress', 'knebøy'] },
      frisklivssentral: {
        name: 'Frisklivssentralen i Trondheim',
        phone: '+47 400 00 010',
        email: 'frisklivssentralen@example.no',
      },
      generatedAt: '2026-03-02T12:30:00+01:00',
    });
    expect(plan.interval?.steps).toHaveLength(9);
    expect(plan.interval?.steps[0]).not.toHaveProperty('pulse');
  });

  it('strength only: no interval part', () => {
    const { plan } = both(facts('strength-only')).contact;
    expect(plan.interval).toBeUndefined();
    expect(plan.strength?.sessionsPerWeek).toBe(2);
  });
});

describe('the Frisklivssentral document entries', () => {
  const { friskliv } = both(facts('typical'));
  const resources = (friskliv.bundle.entry ?? []).map((e) => e.resource);
  const composition = resources[0] as Composition;

  it('names the patient by national id and given name, the Frisklivssentral by HER-id and organisation number', () => {
    const patient = resources.find((r): r is Patient => r?.resourceType === 'Patient');
    expect(patient?.identifier).toEqual([{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '15838812381' }]);
    expect(patient?.name).toEqual([{ given: ['Ola'] }]);
    const organisations = resources.filter((r): r is Organization => r?.resourceType === 'Organization');
    expect(organisations.map((o) => o.name)).toEqual([
      'St. Olavs hospital, Klinikk for rus og avhengighet',
      'Frisklivssentralen i Trondheim',
    ]);
    expect(organisations[1]?.identifier).toEqual([
      { system: 'urn:oid:2.16.578.1.12.4.1.2', value: '8012345' },
      { system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '123456785' },
    ]);
  });

  it('dates the discharge as the event (SNOMED CT 308283009), authored by the hospital', () => {
    expect(composition.event?.[0]?.code?.[0]?.coding?.[0]?.code).toBe('308283009');
    expect(composition.event?.[0]?.period?.start).toBe('2026-03-02T12:00:00+01:00');
    expect(composition.author[0]?.display).toBe('St. Olavs hospital, Klinikk for rus og avhengighet');
  });

  it('names the training contact to the Frisklivssentral only where the patient consented to one', () => {
    expect(friskliv.html).toContain('Per Turvenn');
    const declined = buildHandoverPackets(facts('training-contact-declined')).frisklivssentral;
    if ('omitted' in declined) throw new Error('no packet');
    expect(declined.html).not.toContain('Per Turvenn');
    expect(JSON.stringify(declined.bundle)).not.toContain('Per Turvenn');
  });
});

describe('documentCopy', () => {
  it('drops the server id and version, keeps the profile, points known references inside and leaves others logical', () => {
    const copy = documentCopy(
      {
        resourceType: 'Observation',
        id: '42',
        meta: { versionId: '3', lastUpdated: '2026-01-01T00:00:00Z', profile: ['https://example.no/p'] },
        status: 'final',
        code: { text: 'x' },
        subject: { reference: 'Patient/7', type: 'Patient' },
        performer: [{ reference: 'Practitioner/9', identifier: { system: 's', value: 'v' } }],
        derivedFrom: [{ reference: 'Observation/41' }],
      },
      (reference) => (reference.reference === 'Observation/41' ? 'urn:uuid:vo2' : undefined),
    );
    expect(copy).toEqual({
      resourceType: 'Observation',
      meta: { profile: ['https://example.no/p'] },
      status: 'final',
      code: { text: 'x' },
      subject: { type: 'Patient', display: 'Ikke med i dokumentet' },
      performer: [{ identifier: { system: 's', value: 'v' } }],
      derivedFrom: [{ reference: 'urn:uuid:vo2' }],
    });
  });
});
