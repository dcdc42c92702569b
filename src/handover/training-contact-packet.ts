/**
 * The training contact's packet. A treningskontakt is a volunteer, NOT health personnel, so the
 * packet holds only what following the plan needs: the 4x4 session minute by minute with this
 * patient's pulse numbers, the strength sessions, the patient's given name and (the patient
 * having consented) phone and e-mail, and the Frisklivssentral's contact.
 *
 * Built from an allow-list, never by filtering the Frisklivssentral's document: no national id,
 * no diagnosis or summary, no test results (no VO2max, fitness age, 1RM or HRmax), no EHR
 * references or ids, no HER/HPR/organisation numbers, no codes. Pure: no clock, no I/O.
 */
import { escapeXml, labelledTableXhtml } from '../../mappings/common.ts';
import { renderPage } from './html-page.ts';
import { renderPlanPdf } from './pdf/plan-pdf.ts';
import { sectionBlocks } from './section-blocks.ts';
import type { PrescriptionPlan } from './prescription-plan.ts';
import { sessionRows } from './session-steps.ts';
import type { HandoverFacts, TrainingContactPacket, TrainingContactPlan } from './types.ts';

function trainingContactPlan(
  facts: HandoverFacts,
  plan: PrescriptionPlan,
  trainingContact: { readonly name: string },
): TrainingContactPlan {
  const { givenName, phone, email } = facts.discharge.patient;
  const f = facts.frisklivssentral;
  const interval = plan.interval;
  const strength = plan.strength;
  return {
    kind: 'training-contact-plan',
    language: 'nb',
    trainingContact: { name: trainingContact.name },
    patient: {
      givenName,
      ...(phone === undefined ? {} : { phone }),
      ...(email === undefined ? {} : { email }),
    },
    frisklivssentral: { name: f.name, phone: f.phone, email: f.email },
    weeks: plan.weeks,
    ...(interval === undefined
      ? {}
      : {
          interval: {
            sessionsPerWeek: interval.sessionsPerWeek,
            where: interval.modalityText,
            ...(interval.inclinePercentMin === undefined ? {} : { inclinePercentMin: interval.inclinePercentMin }),
            zoneBpm: { low: interval.zone.lowBpm, high: interval.zone.highBpm },
            pauseBpm: interval.pause.bpm,
            totalMinutes: interval.session.totalMin,
            steps: sessionRows(interval.session).map((row) => ({
              fromMinute: row.fromMinute,
              toMinute: row.toMinute,
              what: row.what,
              ...(row.pulse === '–' ? {} : { pulse: row.pulse }),
            })),
          },
        }),
    ...(strength === undefined
      ? {}
      : {
          strength: {
            sessionsPerWeek: strength.sessionsPerWeek,
            sets: strength.sets,
            reps: strength.reps,
            exercises: strength.exercises,
            howHeavy:
              `Tungt: en vekt ${givenName} så vidt klarer å løfte ${strength.reps} ganger med god teknikk ` +
              `(${percentText(strength.percent1RM)} av det tyngste ${givenName} kan løfte én gang). ` +
              'Spør Frisklivssentralen om hvilken vekt som passer.',
          },
        }),
    generatedAt: facts.generatedAt,
  };
}

function percentText(band: { readonly low: number; readonly high: number }): string {
  return band.low === band.high ? `${band.low} %` : `${band.low}–${band.high} %`;
}

export function buildTrainingContactPacket(
  facts: HandoverFacts,
  plan: PrescriptionPlan,
  trainingContact: { readonly name: string },
): TrainingContactPacket {
  const contactPlan = trainingContactPlan(facts, plan, trainingContact);
  return { recipient: 'training-contact', plan: contactPlan, html: trainingContactHtml(contactPlan) };
}

/** The plan's sections (title and escaped XHTML), shared by the HTML page and the PDF. */
function trainingContactSections(plan: TrainingContactPlan): { key: string; title: string; xhtml: string }[] {
  const name = plan.patient.givenName;
  const sections: { key: string; title: string; xhtml: string }[] = [];
  const interval = plan.interval;
  if (interval !== undefined) {
    sections.push({
      key: 'interval',
      title: `4x4-intervalltrening, ${interval.sessionsPerWeek} ganger i uka`,
      xhtml:
        `<div class="key">` +
        keyCard('Puls i dragene', `${interval.zoneBpm.low}–${interval.zoneBpm.high}`, 'slag i minuttet') +
        keyCard('Puls i pausene', `ca. ${interval.pauseBpm}`, 'slag i minuttet') +
        keyCard('Hele økta', `ca. ${interval.totalMinutes} min`, escapeXml(interval.where)) +
        `</div>` +
        `<p>Økta trenes ${escapeXml(interval.where)}` +
        (interval.inclinePercentMin === undefined
          ? ''
          : `, i motbakke med minst ${escapeXml(String(interval.inclinePercentMin).replace('.', ','))} % stigning i dragene`) +
        '. Bruk pulsklokke eller pulsbelte, så dere ser pulsen underveis.</p>' +
        `<h3>Slik går økta, minutt for minutt</h3>` +
        `<table><thead><tr><th>Minutt</th><th>Hva dere gjør</th><th class="num">Puls</th></tr></thead><tbody>` +
        interval.steps
          .map((step) => {
            const minutes =
              step.fromMinute === step.toMinute ? `${step.fromMinute}` : `${step.fromMinute}–${step.toMinute}`;
            const css = step.what.startsWith('Drag')
              ? ' class="zone"'
              : step.what.startsWith('Aktiv pause')
                ? ' class="pause"'
                : '';
            return (
              `<tr${css}><td>${escapeXml(minutes)}</td><td>${escapeXml(step.what)}</td>` +
              `<td class="num">${escapeXml(step.pulse ?? '–')}</td></tr>`
            );
          })
          .join('') +
        `</tbody></table>`,
    });
  }
  const strength = plan.strength;
  if (strength !== undefined) {
    sections.push({
      key: 'strength',
      title: `Styrketrening, ${strength.sessionsPerWeek} ganger i uka`,
      xhtml:
        `<p>${strength.sets} runder (serier) med ${strength.reps} løft (repetisjoner) i hver øvelse, med god pause mellom rundene.</p>` +
        (strength.exercises.length === 0 ? '' : `<p><b>Øvelser:</b> ${escapeXml(strength.exercises.join(', '))}</p>`) +
        `<p>${escapeXml(strength.howHeavy)}</p>`,
    });
  }
  sections.push({
    key: 'safety',
    title: 'Hvis noe ikke kjennes riktig',
    // General safety advice, not taken from the prescription (UNCONFIRMED wording: to be read by the clinic).
    xhtml:
      `<p class="note">Stopp økta hvis ${escapeXml(name)} får vondt i brystet, blir svimmel eller føler seg uvel, ` +
      `og si fra til Frisklivssentralen. Ved akutt sykdom: ring 113.</p>`,
  });
  const patientRows = [
    ['Navn', name],
    ['Telefon', plan.patient.phone],
    ['E-post', plan.patient.email],
  ] as const;
  const f = plan.frisklivssentral;
  sections.push({
    key: 'contact',
    title: 'Kontakt',
    xhtml:
      `<h3>${escapeXml(name)}</h3>${labelledTableXhtml(patientRows)}` +
      `<h3>${escapeXml(f.name)}</h3>${labelledTableXhtml([
        ['Telefon', f.phone],
        ['E-post', f.email],
      ])}<p>Spørsmål om planen? Ring eller skriv til Frisklivssentralen.</p>`,
  });
  return sections;
}

function trainingContactGreeting(plan: TrainingContactPlan): string {
  const name = plan.patient.givenName;
  return (
    `<p>Hei, ${escapeXml(plan.trainingContact.name)}! Takk for at du vil trene sammen med ${escapeXml(name)}. ` +
    // The prescription's weeks were spent in hospital: the plan goes on from here, so no end date is promised.
    'Her er treningsplanen fra sykehuset' +
    (plan.interval === undefined ? '.</p>' : `, med pulsverdiene som gjelder for ${escapeXml(name)}.</p>`)
  );
}

function trainingContactFrame(plan: TrainingContactPlan) {
  const name = plan.patient.givenName;
  const f = plan.frisklivssentral;
  return {
    kicker: 'Til treningskontakten',
    title: `Treningsplan for ${name}`,
    meta: [
      ['Treningsøkter', `${Math.max(plan.interval?.sessionsPerWeek ?? 0, plan.strength?.sessionsPerWeek ?? 0)} i uka`],
      ['Spørsmål', `${f.name}, ${f.phone}`],
    ] as [string, string][],
    footer:
      `Planen kommer fra sykehuset. Du får den fordi ${name} har sagt ja til det, ` +
      'og den inneholder bare det dere trenger for å trene sammen.',
  };
}

function trainingContactHtml(plan: TrainingContactPlan): string {
  const sections = trainingContactSections(plan).map(
    (section) => `<section><h2>${escapeXml(section.title)}</h2>${section.xhtml}</section>`,
  );
  return renderPage({ ...trainingContactFrame(plan), bodyHtml: [trainingContactGreeting(plan), ...sections].join('') });
}

/** The same plan as a PDF for the patient to carry (made only where the patient consented, as the packet is). */
export function trainingContactPdf(plan: TrainingContactPlan): Promise<Uint8Array> {
  return renderPlanPdf({
    ...trainingContactFrame(plan),
    sections: [
      sectionBlocks({
        key: 'greeting',
        title: 'Til deg som trener sammen med pasienten',
        xhtml: trainingContactGreeting(plan),
      }),
      ...trainingContactSections(plan).map(sectionBlocks),
    ],
    createdAt: plan.generatedAt,
  });
}

function keyCard(label: string, big: string, smallEscaped: string): string {
  return `<div><span class="small">${escapeXml(label)}</span><span class="big">${escapeXml(big)}</span><span class="small">${smallEscaped}</span></div>`;
}
