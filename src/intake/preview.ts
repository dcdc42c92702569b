/**
 * POST /v1/preview/{hit-sessions,fitness-tests,prescriptions}: validate the input exactly as
 * intake will, map it, and answer the transaction Bundle that would be sent to the EHR. The tool
 * integrators use while building their side: nothing is stored, sent or emitted.
 *
 * The Bundle is the one the deployment's EHR profile makes; `?profile=generic|dips-arena` shows
 * the other, so a clinic can see what a DIPS Arena hospital would receive before it moves.
 */
import { Router, type Request } from 'express';
import type { Bundle } from 'fhir/r4.js';
import { EHR_PROFILES, isEhrProfile, type EhrProfile, type MappingOptions } from '../../mappings/common.ts';
import { jsonBody } from './json-body.ts';
import { onlyMethod } from './methods.ts';
import type { InputValidator } from '../contracts/input-validator.ts';
import type { Mappers } from '../contracts/mappers.ts';
import { RECORD_KINDS, type RecordKind } from '../kinds/kinds.ts';
import { badRequest } from '../platform/problem.ts';

export interface PreviewDeps {
  readonly validator: InputValidator;
  readonly mappers: Mappers;
  readonly mappingOptions: MappingOptions;
  readonly bodyLimitBytes: number;
}

const FHIR_JSON = 'application/fhir+json';

export function previewRoutes(deps: PreviewDeps): Router {
  const router = Router();
  const body = jsonBody(deps.bodyLimitBytes);

  // K ties mappers[kind] to validate(kind): without it the call would see a union of mappings.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  const preview = <K extends RecordKind>(kind: K, input: unknown, ehrProfile: EhrProfile): Bundle =>
    deps.mappers[kind](deps.validator.validate(kind, input, ehrProfile), { ...deps.mappingOptions, ehrProfile });

  for (const kind of RECORD_KINDS) {
    const path = `/v1/preview/${kind}`;
    router.post(path, ...body, (req, res) => {
      res
        .status(200)
        .type(FHIR_JSON)
        .send(JSON.stringify(preview(kind, req.body, profileOf(req, deps.mappingOptions.ehrProfile))));
    });
    router.all(path, onlyMethod('POST'));
  }
  return router;
}

function profileOf(req: Request, configured: EhrProfile): EhrProfile {
  const asked = req.query.profile;
  if (asked === undefined) return configured;
  if (isEhrProfile(asked)) return asked;
  throw badRequest(`The query parameter profile must be one of ${EHR_PROFILES.join(', ')}.`);
}
