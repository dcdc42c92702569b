/**
 * POST /v1/hit-sessions/import: a pulse watch's recording (FIT or TCX) with what the file does not
 * know (whose session, which prescription, the modality) as multipart/form-data, turned into the
 * HIT session a clinic system would otherwise have posted as JSON — then validated, stored and
 * delivered exactly as a posted session is (same idempotency, same status timeline).
 * `?preview=true` answers the session and the structure found, and stores nothing.
 *
 * Multipart rather than the raw file with query parameters: the metadata names the patient, and a
 * national id must never travel in a URL (proxies and access logs keep URLs).
 *
 * Nothing of the file is kept but the session derived from it; the timeline says which kind of
 * file it was, from which device, with how many samples.
 */
import { Router, type RequestHandler } from 'express';
import { KINDS } from '../kinds/kinds.ts';
import { patientOn } from '../../mappings/common.ts';
import { estimateHrMax } from '../domain/heart-rate.ts';
import { addPersonalValues } from '../platform/logger.ts';
import { badRequest, invalidInput, Problem, unsupportedMediaType } from '../platform/problem.ts';
import { readUpload } from './multipart.ts';
import { jsonDepth, MAX_JSON_DEPTH } from './json-body.ts';
import { onlyMethod } from './methods.ts';
import { parseTcx } from './recordings/tcx.ts';
import { deriveSession, FIELDS_FROM_RECORDING, type HrMaxUsed } from './recordings/derive-session.ts';
import {
  RECORDING_MEDIA_TYPES,
  sniffFormat,
  unusableRecording,
  type Recording,
  type RecordingFormat,
  type RecordingLimits,
} from './recordings/recording.ts';
import { acceptInput, answerAccepted, idempotencyOf, type SubmissionDeps } from './submissions.ts';

const IMPORT_PATH = '/v1/hit-sessions/import';
const SESSION_KIND = 'hit-sessions' as const satisfies keyof typeof KINDS;
const PRESCRIPTION_KIND = KINDS[SESSION_KIND].waitsFor.kind;

export interface RecordingImportDeps extends Omit<SubmissionDeps, 'bodyLimitBytes'> {
  readonly limits: RecordingLimits;
}

export function recordingImportRoutes(deps: RecordingImportDeps): Router {
  const router = Router();
  router.post(IMPORT_PATH, requireMultipart, async (req, res) => {
    const preview = req.query.preview === 'true';
    const upload = await readUpload(req, deps.limits.maxBytes, ['recording']);
    const metadata = metadataOf(upload.fields.get('metadata'));
    const file = upload.files.get('recording');
    if (file === undefined) {
      throw invalidInput([
        {
          field: '/recording',
          rule: 'required',
          message: 'is required: the FIT or TCX file, as a file part named "recording"',
        },
      ]);
    }
    const recording = await parseRecording(file.bytes, file.mediaType, deps.limits);
    const hrMax = await hrMaxFor(deps, metadata, recording);
    const derived = deriveSession(recording, metadata, hrMax);
    const session = deps.validator.validate(SESSION_KIND, derived.session, deps.ehrProfile);
    if (preview) {
      res.json({ session, structure: derived.structure, recording: derived.recording });
      return;
    }
    const outcome = await acceptInput(deps, SESSION_KIND, session, idempotencyOf(req));
    if (outcome.outcome === 'created') {
      deps.metrics.submissionAccepted(SESSION_KIND);
      await deps.store.appendTimeline(outcome.submission.id, [
        {
          at: deps.clock(),
          kind: 'note',
          message:
            `Derived from a ${recording.format.toUpperCase()} recording` +
            `${recording.device === undefined ? '' : ` (${recording.device})`} with ${recording.samples.length} samples: ` +
            `${derived.structure.intervals.length} intervals found from ${derived.structure.method}, confidence ${derived.structure.confidence}.`,
          detail: {
            recording: { ...derived.recording },
            flags: derived.structure.flags.map((flag) => flag.message),
          },
        },
      ]);
    }
    answerAccepted(res, SESSION_KIND, outcome);
  });
  router.all(IMPORT_PATH, onlyMethod('POST'));
  return router;
}

const requireMultipart: RequestHandler = (req, _res, next) => {
  const type = req.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type === 'multipart/form-data') next();
  else {
    next(
      unsupportedMediaType(
        'Send the recording as multipart/form-data: a part "metadata" (JSON) and a part "recording" (the FIT or TCX file).',
      ),
    );
  }
};

function metadataOf(part: string | undefined): Readonly<Record<string, unknown>> {
  const missing = (message: string): Problem => invalidInput([{ field: '/metadata', rule: 'required', message }]);
  if (part === undefined)
    throw missing('is required: a part "metadata" holding the session\'s JSON without its times and intervals');
  let parsed: unknown;
  try {
    parsed = JSON.parse(part);
  } catch {
    throw invalidInput([{ field: '/metadata', rule: 'json', message: 'is not valid JSON' }]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidInput([{ field: '/metadata', rule: 'type', message: 'must be a JSON object ({ … })' }]);
  }
  if (jsonDepth(parsed, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw badRequest(`The metadata nests objects and lists more than ${MAX_JSON_DEPTH} levels deep.`);
  }
  // Whatever the metadata says about a person is scrubbed from every line this request logs.
  addPersonalValues(parsed);
  const metadata = parsed as Record<string, unknown>;
  const contradicting = FIELDS_FROM_RECORDING.filter((field) => field in metadata);
  if (contradicting.length > 0) {
    throw invalidInput(
      contradicting.map((field) => ({
        field: `/metadata/${field}`,
        rule: 'from-recording',
        message: 'comes from the recording: leave it out of the metadata',
      })),
    );
  }
  return metadata;
}

async function parseRecording(bytes: Uint8Array, declaredType: string, limits: RecordingLimits): Promise<Recording> {
  const declared = (Object.entries(RECORDING_MEDIA_TYPES) as [RecordingFormat, string][]).find(
    ([, mediaType]) => mediaType === declaredType.split(';')[0]?.trim().toLowerCase(),
  )?.[0];
  const sniffed = sniffFormat(bytes);
  const format = declared ?? sniffed;
  if (format === undefined) {
    throw unusableRecording(
      'unknown-format',
      `The recording is neither a FIT nor a TCX file; send ${Object.values(RECORDING_MEDIA_TYPES).join(' or ')}.`,
    );
  }
  // Garmin's FIT SDK is loaded with the first FIT file: a service that never imports one (most
  // of them) keeps its ~15 MB out of memory and its load time out of start-up.
  const parseFit = format === 'fit' ? (await import('./recordings/fit.ts')).parseFit : undefined;
  try {
    return parseFit === undefined ? parseTcx(bytes, limits) : parseFit(bytes, limits);
  } catch (error) {
    if (error instanceof Problem) throw error;
    // A parser tripping over a damaged file is the file's fault, never a 500.
    throw unusableRecording(
      'corrupt',
      `The ${format.toUpperCase()} file could not be read; export it again from the watch.`,
    );
  }
}

/** HRmax for the zones: sent with the import, else the prescription's, else estimated from the age as the mapping does. */
async function hrMaxFor(
  deps: RecordingImportDeps,
  metadata: Readonly<Record<string, unknown>>,
  recording: Recording,
): Promise<HrMaxUsed> {
  const sent = bpmOf(metadata.hrMax);
  if (sent !== undefined) return { bpm: sent, from: 'metadata' };
  const source = metadata.source;
  const prescriptionId = metadata.prescriptionId;
  if (typeof source === 'string' && typeof prescriptionId === 'string') {
    const prescription = await deps.store.findSubmission(source, PRESCRIPTION_KIND, prescriptionId);
    const hrMax = (prescription?.body as { hrMax?: unknown } | null | undefined)?.hrMax;
    const bpm = bpmOf(hrMax);
    const method = (hrMax as { method?: unknown } | undefined)?.method;
    if (bpm !== undefined && (method === 'measured' || method === 'estimated')) {
      return { bpm, from: 'prescription', sessionValue: { bpm, method } };
    }
  }
  const nationalId = (metadata.patient as { nationalId?: unknown } | undefined)?.nationalId;
  try {
    if (typeof nationalId !== 'string') throw new Error('no national id');
    const estimate = estimateHrMax(patientOn(nationalId, recording.startedAt.toISOString()).age);
    if (estimate.ok) return { bpm: estimate.value.bpm, from: 'age-estimate' };
  } catch {
    // The validation below names what is wrong with the patient field.
  }
  deps.validator.validate(
    SESSION_KIND,
    {
      ...metadata,
      startedAt: recording.startedAt.toISOString(),
      endedAt: new Date(recording.startedAt.getTime() + 60_000).toISOString(),
    },
    deps.ehrProfile,
  );
  throw invalidInput([
    { field: '/metadata/patient/nationalId', rule: 'age', message: 'gives no age to estimate HRmax from; send hrMax' },
  ]);
}

function bpmOf(hrMax: unknown): number | undefined {
  const bpm = (hrMax as { bpm?: unknown } | null | undefined)?.bpm;
  return typeof bpm === 'number' && Number.isFinite(bpm) && bpm >= 80 && bpm <= 250 ? bpm : undefined;
}
