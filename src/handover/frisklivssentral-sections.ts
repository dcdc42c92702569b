/**
 * The five sections of the Frisklivssentral's training plan, as Norwegian XHTML. The same markup
 * is the Composition's section narrative and the body of the printed page, so the FHIR document
 * and the paper say exactly the same. Every piece of text is escaped here (escapeXml).
 *
 * Readers are health personnel: the prescription, the results and the hospital's summary are all
 * theirs to see. Pure: no clock, no I/O.
 */
import {
  escapeXml,
  formatDateNo,
  formatNumberNo,
  labelledTableXhtml,
  osloCalendarDate,
} from '../../mappings/common.ts';
import type { Attendance } from './attendance.ts';
import type { Change, FitnessResults } from './fitness-results.ts';
import type { IntervalPlan, PrescriptionPlan, StrengthPlan } from './prescription-plan.ts';
import { sessionRows } from './session-steps.ts';
import type { HandoverFacts } from './types.ts';
import { vo2maxChartSvg } from './vo2max-chart.ts';

export type SectionKey = 'prescription' | 'results' | 'attendance' | 'summary' | 'contact';

export interface Section {
  readonly key: SectionKey;
  readonly title: string;
  /** XHTML fragment (no wrapping div), escaped. */
  readonly xhtml: string;
}

export interface SectionInput {
  readonly facts: HandoverFacts;
  readonly plan: PrescriptionPlan;
  readonly results: FitnessResults;
  readonly attendance: Attendance;
}

export function frisklivssentralSections(input: SectionInput, options: { readonly chart: boolean }): Section[] {
  return [
    { key: 'prescription', title: 'Treningsresept', xhtml: prescriptionXhtml(input.plan, input.results) },
    { key: 'results', title: 'Resultater under oppholdet', xhtml: resultsXhtml(input.results, options.chart) },
    { key: 'attendance', title: 'Oppmøte', xhtml: attendanceXhtml(input.attendance, input.plan) },
    { key: 'summary', title: 'Oppsummering fra sykehuset', xhtml: summaryXhtml(input.facts.discharge.summary) },
    { key: 'contact', title: 'Kontakt', xhtml: contactXhtml(input.facts) },
  ];
}

// ---- Numbers as a Norwegian reader writes them ----

// Made with the first packet, not at start-up: the first Intl object a process makes reads ICU's
// locale data, about 6 MB of resident memory a service that hands nothing over never needs.
let oneDecimal: Intl.NumberFormat | undefined;

function oneDecimalNo(value: number): string {
  oneDecimal ??= new Intl.NumberFormat('nb-NO', {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
    useGrouping: false,
  });
  return oneDecimal.format(value);
}

/** "+15,1 %", "−3,2 %", "0,0 %". */
export function signedPercentNo(value: number): string {
  const sign = value > 0 ? '+' : value < 0 ? '−' : '';
  return `${sign}${oneDecimalNo(Math.abs(value))} %`;
}

function weeksNo(weeks: number): string {
  return weeks === 1 ? '1 uke' : `${weeks} uker`;
}

function dayNo(isoDateTime: string): string {
  return formatDateNo(osloCalendarDate(isoDateTime));
}

function para(text: string): string {
  return `<p>${escapeXml(text)}</p>`;
}

function heading(text: string): string {
  return `<h3>${escapeXml(text)}</h3>`;
}

function grid(head: readonly string[], rows: readonly (readonly string[])[], numeric: readonly number[] = []): string {
  const cell = (tag: 'th' | 'td', text: string, i: number): string =>
    `<${tag}${numeric.includes(i) ? ' class="num"' : ''}>${escapeXml(text)}</${tag}>`;
  const th = head.map((h, i) => cell('th', h, i)).join('');
  const body = rows.map((row) => `<tr>${row.map((c, i) => cell('td', c, i)).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

// ---- Prescription ----

function prescriptionXhtml(plan: PrescriptionPlan, results: FitnessResults): string {
  const parts = [
    para(
      `Treningsperiode ${formatDateNo(plan.start)}–${formatDateNo(plan.end)} (${weeksNo(plan.weeks)}), ` +
        `${plan.sessionsPerWeek} treningsdager per uke. Planen kan videreføres i kommunen med de samme pulsverdiene.`,
    ),
  ];
  if (plan.interval !== undefined) parts.push(intervalXhtml(plan.interval));
  if (plan.strength !== undefined) parts.push(strengthXhtml(plan.strength, results));
  if (plan.note !== undefined) parts.push(`<p class="note"><b>Merknad i resepten:</b> ${escapeXml(plan.note)}</p>`);
  return parts.join('');
}

function intervalXhtml(interval: IntervalPlan): string {
  const { zone, pause } = interval;
  const table = labelledTableXhtml([
    ['Hyppighet', `${interval.sessionsPerWeek} økter per uke`],
    ['Makspuls', `${interval.hrMaxBpm} slag/min (${interval.hrMaxBasis})`],
    [
      'Pulssone i dragene',
      `${zone.lowBpm}–${zone.highBpm} slag/min (${zone.lowPercent}–${zone.highPercent} % av makspuls)`,
    ],
    ['Aktive pauser', `ca. ${pause.bpm} slag/min (${pause.percent} % av makspuls)`],
    [
      'Stigning',
      interval.inclinePercentMin === undefined
        ? undefined
        : `minst ${formatNumberNo(interval.inclinePercentMin)} % i dragene`,
    ],
    ['Varighet', `ca. ${interval.session.totalMin} minutter per økt`],
  ]);
  const rows = sessionRows(interval.session).map((row) => [row.minutes, row.what, row.pulse]);
  return (
    heading(`4x4-intervalltrening ${interval.modalityText}`) +
    table +
    `<p><b>Økta minutt for minutt</b></p>` +
    grid(['Minutt', 'Hva', 'Puls (slag/min)'], rows)
  );
}

function strengthXhtml(strength: StrengthPlan, results: FitnessResults): string {
  const { low, high } = strength.percent1RM;
  const percent = low === high ? `${formatNumberNo(low)} %` : `${formatNumberNo(low)}–${formatNumberNo(high)} %`;
  const rows = strength.exercises.map((exercise) => {
    const lift = results.oneRepMax.find((r) => r.exercise.toLowerCase() === exercise.toLowerCase());
    const oneRm = lift?.change.last.value;
    return [
      exercise,
      oneRm === undefined ? 'ikke testet' : `${formatNumberNo(oneRm)} kg`,
      oneRm === undefined
        ? '–'
        : `${formatNumberNo(Math.round((low * oneRm) / 10) / 10)}–${formatNumberNo(Math.round((high * oneRm) / 10) / 10)} kg`,
    ];
  });
  return (
    heading('Styrketrening') +
    para(
      `${strength.sessionsPerWeek} økter per uke: ${strength.sets} serier × ${strength.reps} repetisjoner ` +
        `med ${percent} av 1RM (den tyngste vekten pasienten kan løfte én gang med god teknikk).`,
    ) +
    (rows.length === 0 ? '' : grid(['Øvelse', 'Siste 1RM', `Belastning (${percent})`], rows, [1, 2]))
  );
}

// ---- Results ----

function changeText(change: Change, unit: string): string {
  const base = `${formatNumberNo(change.first.value)} → ${formatNumberNo(change.last.value)} ${unit}`;
  return change.changePercent === undefined ? base : `${base} (${signedPercentNo(change.changePercent)})`;
}

function resultsXhtml(results: FitnessResults, chart: boolean): string {
  if (results.vo2max.length === 0 && results.fitnessAge.length === 0 && results.oneRepMax.length === 0) {
    return para('Ingen fysiske tester er registrert i pasientjournalen for oppholdet.');
  }
  const parts: string[] = [];
  const vo2 = results.vo2maxChange;
  const age = results.fitnessAgeChange;
  const cards: string[] = [];
  if (vo2 !== undefined) {
    cards.push(
      card(
        'VO2maks',
        vo2.changePercent === undefined ? formatNumberNo(vo2.last.value) : signedPercentNo(vo2.changePercent),
        `${formatNumberNo(vo2.first.value)} → ${formatNumberNo(vo2.last.value)} mL/kg/min`,
      ),
    );
  }
  if (age !== undefined) {
    cards.push(
      card(
        'Kondisjonsalder (estimat)',
        `${formatNumberNo(age.last.value, 0)} år`,
        `fra ${formatNumberNo(age.first.value, 0)} år`,
      ),
    );
  }
  if (cards.length > 0) parts.push(`<div class="key">${cards.join('')}</div>`);

  if (results.vo2max.length > 0) {
    parts.push(heading('Maksimalt oksygenopptak (VO2maks)'));
    if (vo2 !== undefined && results.vo2max.length > 1) {
      parts.push(para(`VO2maks endret seg fra første til siste test: ${changeText(vo2, 'mL/kg/min')}.`));
    }
    if (chart) parts.push(vo2maxChartSvg(results.vo2max));
    parts.push(
      grid(
        ['Dato', 'VO2maks (mL/kg/min)'],
        results.vo2max.map((m) => [dayNo(m.at), `${formatNumberNo(m.value)}${m.estimated ? ' (estimat)' : ''}`]),
        [1],
      ),
    );
  }
  if (age !== undefined) {
    parts.push(heading('Kondisjonsalder'));
    parts.push(
      para(
        `${formatNumberNo(age.first.value, 0)} år ved første test (${dayNo(age.first.at)}), ` +
          `${formatNumberNo(age.last.value, 0)} år ved siste (${dayNo(age.last.at)}). ` +
          'Kondisjonsalder er et estimat: alderen der gjennomsnittlig VO2maks for kjønnet (HUNT3) er lik pasientens.',
      ),
    );
  }
  if (results.oneRepMax.length > 0) {
    parts.push(heading('Styrke (1RM)'));
    parts.push(
      grid(
        ['Øvelse', 'Første', 'Siste', 'Endring'],
        results.oneRepMax.map(({ exercise, change }) => [
          exercise,
          `${formatNumberNo(change.first.value)} kg`,
          `${formatNumberNo(change.last.value)} kg`,
          change.changePercent === undefined ? '–' : signedPercentNo(change.changePercent),
        ]),
        [1, 2, 3],
      ),
    );
  }
  return parts.join('');
}

function card(label: string, big: string, small: string): string {
  return (
    `<div><span class="small">${escapeXml(label)}</span><span class="big">${escapeXml(big)}</span>` +
    `<span class="small">${escapeXml(small)}</span></div>`
  );
}

// ---- Attendance ----

function attendanceXhtml(attendance: Attendance, plan: PrescriptionPlan): string {
  // Weeks side by side: eight rows of "3 av 3" would fill half a printed page.
  const head = attendance.byWeek.map((_, i) => `<th class="num">${i + 1}</th>`).join('');
  const cells = attendance.byWeek
    .map((n) => `<td class="num${n < attendance.prescribedPerWeek ? ' short' : ''}">${n}</td>`)
    .join('');
  return (
    `<div class="key">` +
    card(
      'Gjennomførte økter',
      `${attendance.done} av ${attendance.prescribed}`,
      `${attendance.percent} % av det foreskrevne`,
    ) +
    card(
      'Økter per uke',
      oneDecimalNo(attendance.donePerWeek),
      `foreskrevet ${attendance.prescribedPerWeek} per uke i ${weeksNo(attendance.weeks)}`,
    ) +
    `</div>` +
    para(
      `${attendance.done} av ${attendance.prescribed} foreskrevne treningsøkter gjennomført ` +
        `(${formatDateNo(plan.start)}–${formatDateNo(plan.end)}), i snitt ${oneDecimalNo(attendance.donePerWeek)} ` +
        `økter per uke mot foreskrevet ${attendance.prescribedPerWeek}.`,
    ) +
    (attendance.outsidePeriod === 0
      ? ''
      : para(`I tillegg ${attendance.outsidePeriod} økt(er) utenfor treningsperioden, ikke talt med over.`)) +
    `<table class="weeks"><thead><tr><th>Uke</th>${head}</tr></thead>` +
    `<tbody><tr><th>Økter</th>${cells}</tr></tbody></table>`
  );
}

// ---- Summary and contact ----

function summaryXhtml(summary: string): string {
  const paragraphs = summary
    .split(/\n\s*\n/u)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (paragraphs.length === 0) return para('Sykehuset har ikke skrevet noen oppsummering.');
  return paragraphs.map((p) => `<p class="summary">${escapeXml(p)}</p>`).join('');
}

/** The training contact the patient named, only where the patient consented to involving them. */
function trainingContactXhtml(facts: HandoverFacts): string {
  const contact = facts.discharge.recipients.trainingContact;
  if (contact === undefined || !facts.discharge.consent.trainingContact) return '';
  return (
    heading('Treningskontakt (har fått en egen plan uten helseopplysninger)') +
    labelledTableXhtml([
      ['Navn', contact.name],
      ['Telefon', contact.phone],
      ['E-post', contact.email],
    ])
  );
}

function contactXhtml(facts: HandoverFacts): string {
  const contact = facts.hospitalContact;
  const patient = facts.discharge.patient;
  return (
    heading('Ved spørsmål, kontakt sykehuset') +
    labelledTableXhtml([
      ['Kontaktperson', contact.name],
      ['Enhet', contact.organisation],
      ['Telefon', contact.phone],
      ['E-post', contact.email],
    ]) +
    heading('Pasienten') +
    labelledTableXhtml([
      ['Fornavn', patient.givenName],
      ['Telefon', patient.phone],
      ['E-post', patient.email],
      ['Utskrevet', dayNo(facts.discharge.dischargedAt)],
    ]) +
    trainingContactXhtml(facts) +
    heading('Mottaker') +
    labelledTableXhtml([
      ['Frisklivssentral', facts.frisklivssentral.name],
      ['Telefon', facts.frisklivssentral.phone],
      ['E-post', facts.frisklivssentral.email],
    ])
  );
}
