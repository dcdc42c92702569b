/**
 * A stand-in for Norsk Helsenett's message service (EDI 2.0, API version 2) and, behind it, the
 * receiving Frisklivssentral's system: it checks what NHN documents and answers as NHN does.
 *
 * - Every request and every response is checked against NHN's published OpenAPI
 *   (third_party/nhn-edi-openapi/msh-api-v2.json) by express-openapi-validator, not by hand: a
 *   request it refuses is answered 400 with an ErrorMessage; an answer of ours that breaks the
 *   document is a 500 (a fault of the peer, visible in the test).
 * - Authorization: a DPoP-bound token from the real Keycloak (HelseID's stand-in), verified by the
 *   shared DPoP check (test/peers/dpop-guard.ts: cnf.jkt, ath, htm, htu, iat, jti), for the
 *   message service's audience, carrying its scope. Refused: 401 with WWW-Authenticate.
 * - POST /Messages: the business document must be base64 of UTF-8 XML declared as UTF-8, and its
 *   receiver (the deepest HER-id in MsgHead's Receiver) must be one this peer serves; otherwise
 *   400, as NHN refuses addressees it cannot deduce. A document that breaks the KITH schemas
 *   (xmllint against contracts/kith/msghead-dialogmelding-1.1.xsd) is taken — NHN transports it —
 *   and the receiving system answers it Avvist.
 * - Then, per receiver: transport Unconfirmed → Acknowledged, and an application receipt (AppRec
 *   1.1, built as XML and itself checked against apprec-v1.1.xsd): OK, or Avvist with the error
 *   code for a receiver set to refuse or a document that failed the schema. Served by
 *   GET /Messages/{id}/status and /apprec, as v2 does; the AppRec XML is also delivered as an
 *   incoming message to the sender's HER-id (GET /Messages?ReceiverHerIds=…, isAppRec).
 *
 * What it cannot be: NHN's registry of who may send for which HER-id, the address register, the
 * real transport (ebXML, CPA), or a municipality's EPJ deciding what to answer.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types.js';
import XMLBuilder from 'fast-xml-builder';
import { XMLParser } from 'fast-xml-parser';
import { SCHEMAS, validateAgainstXsd } from '../support/xmllint.ts';
import { createDpopGuard, type DpopGuardOptions } from './dpop-guard.ts';

const OPENAPI = fileURLToPath(new URL('../../third_party/nhn-edi-openapi/msh-api-v2.json', import.meta.url));

/** Kodeverk 8221 (feil ved mottak), the codes a receiving system answers Avvist with. */
export const APPREC_ERRORS = {
  /** Confirmed: KITH's AppRec sample (third_party/kith-xsd/examples/app-rec/1.1/example-avvist.xml). */
  receiverNotFound: { V: 'E21', DN: 'Mottaker finnes ikke' },
  /** UNCONFIRMED: no official sample carries it; "T02 XML validerer ikke" as recalled from volven.no's list of 8221. */
  schemaInvalid: { V: 'T02', DN: 'XML validerer ikke' },
} as const;
const KODEVERK_8221 = '2.16.578.1.12.4.1.1.8221';

export type ReceiverBehaviour = 'ok' | 'refuse';

export interface EdiPeerOptions extends Pick<DpopGuardOptions, 'issuer' | 'jwks'> {
  /** The message service's audience and scope in HelseID. */
  readonly audience?: string;
  readonly scope?: string;
  /** HER-ids this peer delivers to (the Frisklivssentraler), each OK unless set to refuse. */
  readonly receivers: readonly string[];
  /** After how long the transport acknowledges, and the receiver answers (ms). */
  readonly acknowledgeAfterMs?: number;
  readonly appRecAfterMs?: number;
  /** Port to listen on (0: any free one). */
  readonly port?: number;
}

export interface ReceivedMessage {
  /** NHN's id of the transport message. */
  readonly messageId: string;
  /** MsgHead MsgId. */
  readonly msgId: string;
  readonly senderHerId: string;
  readonly receiverHerId: string;
  readonly xml: string;
  readonly schemaValid: boolean;
  readonly at: Date;
}

export interface EdiPeer {
  readonly url: string;
  /** Every message taken, in order. */
  received(): readonly ReceivedMessage[];
  setReceiverBehaviour(herId: string, behaviour: ReceiverBehaviour): void;
  /** Stops listening (connections refused) until resume(); what it holds stays. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Requests refused, by reason (for tests that show a check bites). */
  readonly refusals: string[];
  /** Holds each 201 to POST /Messages this long after the message is taken (a sender killed meanwhile never hears it). */
  setAnswerDelay(ms: number): void;
  stop(): Promise<void>;
}

interface Held {
  readonly message: ReceivedMessage;
  readonly behaviour: ReceiverBehaviour;
  appRecId?: string;
}

interface IncomingAppRec {
  readonly id: string;
  readonly receiverHerId: string;
  readonly senderHerId: string;
  readonly appRecId: string;
  readonly xml: string;
  read: boolean;
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', removeNSPrefix: true });
const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  suppressEmptyNode: true,
});

export async function startEdiPeer(options: EdiPeerOptions): Promise<EdiPeer> {
  const audience = options.audience ?? 'nhn:msh';
  const scope = options.scope ?? `${audience}/api`;
  const guard = createDpopGuard({ issuer: options.issuer, jwks: options.jwks, audience });
  const behaviours = new Map<string, ReceiverBehaviour>(options.receivers.map((herId) => [herId, 'ok']));
  const held = new Map<string, Held>();
  const inbox: IncomingAppRec[] = [];
  const refusals: string[] = [];
  const acknowledgeAfterMs = options.acknowledgeAfterMs ?? 200;
  const appRecAfterMs = options.appRecAfterMs ?? 500;
  let base = '';
  let answerDelayMs = 0;

  const errorMessage = (
    res: Response,
    status: number,
    error: string,
    errorCode: number,
    validationErrors?: string[],
  ) => {
    refusals.push(error);
    res
      .status(status)
      .json({ error, errorCode, ...(validationErrors ? { validationErrors } : {}), requestId: randomUUID() });
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '36mb' }));

  // Authorization first: the OpenAPI names a plain Bearer scheme, but NHN's APIs take DPoP only.
  app.use((req: Request, res: Response, next: NextFunction) => {
    void (async () => {
      const verdict = await guard.check({
        method: req.method,
        url: `${base}${req.originalUrl}`,
        authorization: req.headers.authorization,
        dpop: req.headersDistinct.dpop ?? [],
      });
      if (!verdict.ok) {
        refusals.push(`${verdict.error ?? 'unauthorized'}: ${verdict.description}`);
        res.status(verdict.status).set(verdict.headers).json({ error: verdict.description, requestId: randomUUID() });
        return;
      }
      const scopes = typeof verdict.token.scope === 'string' ? verdict.token.scope.split(' ') : [];
      if (!scopes.includes(scope)) {
        refusals.push(`insufficient_scope: ${scope} missing`);
        res
          .status(403)
          .json({ error: `The token does not carry the scope ${scope}.`, errorCode: 1201, requestId: randomUUID() });
        return;
      }
      next();
    })().catch(next);
  });

  app.use(
    OpenApiValidator.middleware({
      apiSpec: checkedDocument(),
      validateRequests: { allowUnknownQueryParameters: false },
      validateResponses: true,
      validateSecurity: false,
    }),
  );

  app.post('/Messages', (req: Request, res: Response) => {
    const body = req.body as { businessDocument: string; contentType: string; contentTransferEncoding: string };
    if (body.contentTransferEncoding !== 'base64') {
      errorMessage(res, 400, 'contentTransferEncoding must be base64.', 1000);
      return;
    }
    const bytes = Buffer.from(body.businessDocument, 'base64');
    if (bytes.toString('base64').replace(/=+$/, '') !== body.businessDocument.replace(/\s/g, '').replace(/=+$/, '')) {
      errorMessage(res, 400, 'businessDocument is not base64.', 1000);
      return;
    }
    const xml = decodeUtf8(bytes);
    if (xml === undefined || !/^<\?xml[^>]*encoding="UTF-8"/i.test(xml)) {
      errorMessage(res, 400, 'The business document must be XML declaring encoding UTF-8.', 1000);
      return;
    }
    const head = readMsgHead(xml);
    if (head === undefined) {
      errorMessage(res, 400, 'The business document is not a MsgHead.', 1000);
      return;
    }
    const behaviour = behaviours.get(head.receiverHerId);
    if (behaviour === undefined) {
      errorMessage(res, 400, `Could not deduce the addressees: HER-id ${head.receiverHerId} is not known.`, 1200);
      return;
    }
    const verdict = validateAgainstXsd(xml, SCHEMAS.handoverMessage);
    const messageId = randomUUID();
    const message: ReceivedMessage = {
      messageId,
      msgId: head.msgId,
      senderHerId: head.senderHerId,
      receiverHerId: head.receiverHerId,
      xml,
      schemaValid: verdict.valid,
      at: new Date(),
    };
    held.set(messageId, { message, behaviour });
    setTimeout(() => {
      res.status(201).location(`/Messages/${messageId}`).json(messageId);
    }, answerDelayMs);
  });

  app.get('/Messages/:id/status', (req: Request, res: Response) => {
    const found = held.get(String(req.params.id));
    if (found === undefined) {
      errorMessage(res, 404, `No message ${String(req.params.id)}.`, 1010);
      return;
    }
    const state = stateOf(found);
    res.json([
      {
        receiverHerId: Number(found.message.receiverHerId),
        transportDeliveryState: state.transport,
        // Null until the receipt has come; left out, which the document allows as well.
        ...(state.appRec === undefined ? {} : { appRecStatus: state.appRec.status }),
      },
    ]);
  });

  app.get('/Messages/:id/apprec', (req: Request, res: Response) => {
    const found = held.get(String(req.params.id));
    if (found === undefined) {
      errorMessage(res, 404, `No message ${String(req.params.id)}.`, 1010);
      return;
    }
    const appRec = stateOf(found).appRec;
    res.json([
      {
        receiverHerId: Number(found.message.receiverHerId),
        ...(appRec === undefined ? {} : { appRecStatus: appRec.status }),
        appRecErrorList:
          appRec === undefined || appRec.error === undefined
            ? []
            : [
                {
                  errorCode: appRec.error.V,
                  details: appRec.error.DN,
                  description: appRec.error.DN,
                  oid: KODEVERK_8221,
                },
              ],
      },
    ]);
  });

  app.get('/Messages', (req: Request, res: Response) => {
    const wanted = [req.query.ReceiverHerIds].flat().map(String);
    res.json(
      inbox
        .filter((m) => !m.read && wanted.includes(m.receiverHerId))
        .slice(0, 10)
        .map((m) => ({
          id: m.id,
          contentType: 'application/xml',
          receiverHerId: Number(m.receiverHerId),
          senderHerId: Number(m.senderHerId),
          businessDocumentId: m.appRecId,
          businessDocumentGenDate: new Date().toISOString(),
          isAppRec: true,
        })),
    );
  });

  app.get('/Messages/:id/business-document', (req: Request, res: Response) => {
    const incoming = inbox.find((m) => m.id === req.params.id);
    if (incoming === undefined) {
      errorMessage(res, 404, `No message ${String(req.params.id)}.`, 1010);
      return;
    }
    res.json({
      businessDocument: Buffer.from(incoming.xml, 'utf8').toString('base64'),
      contentType: 'application/xml',
      contentTransferEncoding: 'base64',
    });
  });

  app.put('/Messages/:id/read/:herId', (req: Request, res: Response) => {
    const incoming = inbox.find((m) => m.id === req.params.id && m.receiverHerId === req.params.herId);
    if (incoming === undefined) {
      errorMessage(res, 404, `No message ${String(req.params.id)} for ${String(req.params.herId)}.`, 1010);
      return;
    }
    incoming.read = true;
    res.status(204).end();
  });

  // The validator's refusals (and any fault) as NHN's ErrorMessage.
  app.use(
    (
      error: { status?: number; message?: string; errors?: { path?: string; message?: string }[] },
      _req: Request,
      res: Response,
      _next: NextFunction,
    ) => {
      const status = error.status ?? 500;
      errorMessage(
        res,
        status,
        error.message ?? 'error',
        status === 400 ? 1000 : 0,
        error.errors?.map((e) => `${e.path ?? ''} ${e.message ?? ''}`.trim()),
      );
    },
  );

  /** Where a message is now, by the clock: acknowledged, then answered. */
  function stateOf(entry: Held): {
    transport: 'Unconfirmed' | 'Acknowledged';
    appRec: { status: 'Ok' | 'Rejected'; error?: { V: string; DN: string } } | undefined;
  } {
    const age = Date.now() - entry.message.at.getTime();
    const transport = age >= acknowledgeAfterMs ? 'Acknowledged' : 'Unconfirmed';
    if (age < appRecAfterMs) return { transport, appRec: undefined };
    const error = !entry.message.schemaValid
      ? APPREC_ERRORS.schemaInvalid
      : entry.behaviour === 'refuse'
        ? APPREC_ERRORS.receiverNotFound
        : undefined;
    if (entry.appRecId === undefined) {
      entry.appRecId = randomUUID();
      const xml = appRecXml(entry.message, entry.appRecId, error);
      const checked = validateAgainstXsd(xml, SCHEMAS.appRec11);
      if (!checked.valid) throw new Error(`the peer's own AppRec breaks apprec-v1.1.xsd: ${checked.errors.join('; ')}`);
      inbox.push({
        id: randomUUID(),
        receiverHerId: entry.message.senderHerId,
        senderHerId: entry.message.receiverHerId,
        appRecId: entry.appRecId,
        xml,
        read: false,
      });
    }
    return { transport, appRec: error === undefined ? { status: 'Ok' } : { status: 'Rejected', error } };
  }

  let server: Server = createServer(app);
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        resolve();
      });
    });
  await listen(options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${String(port)}`;

  return {
    url: base,
    received: () => [...held.values()].map((h) => h.message),
    setReceiverBehaviour: (herId, behaviour) => behaviours.set(herId, behaviour),
    refusals,
    setAnswerDelay: (ms) => {
      answerDelayMs = ms;
    },
    async pause() {
      await close();
    },
    async resume() {
      server = createServer(app);
      await listen(port);
    },
    stop: close,
  };
}

/** The text, or undefined when the bytes are not UTF-8 (refused, never repaired). */
function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** MsgId and the deepest HER-id of sender and receiver (the department, else the organisation). */
function readMsgHead(xml: string): { msgId: string; senderHerId: string; receiverHerId: string } | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const head = doc.MsgHead as Record<string, unknown> | undefined;
  const info = head?.MsgInfo as Record<string, unknown> | undefined;
  const msgId = info?.MsgId;
  const sender = herIdOf((info?.Sender as Record<string, unknown> | undefined)?.Organisation);
  const receiver = herIdOf((info?.Receiver as Record<string, unknown> | undefined)?.Organisation);
  if (typeof msgId !== 'string' || sender === undefined || receiver === undefined) return undefined;
  return { msgId, senderHerId: sender, receiverHerId: receiver };
}

function herIdOf(organisation: unknown): string | undefined {
  if (typeof organisation !== 'object' || organisation === null) return undefined;
  const org = organisation as Record<string, unknown>;
  const nested = herIdOf(org.Organisation) ?? herIdOf(org.HealthcareProfessional);
  if (nested !== undefined) return nested;
  const idents = [org.Ident].flat() as { Id?: string | number; TypeId?: { '@_V'?: unknown } }[];
  const her = idents.find((ident) => ident.TypeId?.['@_V'] === 'HER');
  return her?.Id === undefined ? undefined : String(her.Id);
}

function appRecXml(message: ReceivedMessage, appRecId: string, error: { V: string; DN: string } | undefined): string {
  const status = error === undefined ? { '@_V': '1', '@_DN': 'OK' } : { '@_V': '2', '@_DN': 'Avvist' };
  const inst = (herId: string, name: string) => ({
    Inst: { Name: name, Id: herId, TypeId: { '@_V': 'HER', '@_DN': 'HER-id' } },
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({
    AppRec: {
      '@_xmlns': 'http://www.kith.no/xmlstds/apprec/2012-02-15',
      MsgType: { '@_V': 'APPREC', '@_DN': 'Applikasjonskvittering' },
      MIGversion: 'v1.1 2012-02-15',
      GenDate: new Date().toISOString().slice(0, 19),
      Id: appRecId,
      Sender: {
        Role: { '@_V': 'PRIM', '@_DN': 'Primærmottaker' },
        HCP: inst(message.receiverHerId, 'Frisklivssentralen'),
      },
      Receiver: { Role: { '@_V': 'AVS', '@_DN': 'Avsender' }, HCP: inst(message.senderHerId, 'Avsender') },
      Status: status,
      ...(error === undefined ? {} : { Error: { '@_S': KODEVERK_8221, '@_V': error.V, '@_DN': error.DN } }),
      OriginalMsgId: {
        MsgType: { '@_V': 'DIALOG_HELSEFAGLIG', '@_DN': 'Helsefaglig dialog' },
        IssueDate: message.at.toISOString().slice(0, 19),
        Id: message.msgId,
      },
    },
  })}`;
}

/**
 * NHN's document as the validator checks requests and answers by (changed in memory only, the
 * vendored file stays as published). Its one security scheme is
 * declared `scheme: Bearer`, which the OpenAPI 3.0 meta-schema the validator enforces refuses
 * (and NHN takes DPoP anyway, checked above by the DPoP guard): the scheme and the operations'
 * references to it are left out here, in memory. The vendored file stays as published.
 */
function checkedDocument(): OpenAPIV3.DocumentV3 {
  const document = JSON.parse(readFileSync(OPENAPI, 'utf8')) as OpenAPIV3.DocumentV3 & {
    components?: { securitySchemes?: unknown };
  };
  delete document.components?.securitySchemes;
  delete document.security;
  // `nullable` beside an `allOf` of one $ref, with no `type` of its own, is legal OpenAPI 3.0
  // but refused by the validator's strict schema compiler: the type is taken from the target.
  const schemas = (document.components?.schemas ?? {}) as Record<string, { type?: string }>;
  const typed = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const schema = node as { nullable?: boolean; type?: string; allOf?: { $ref?: string }[] };
    if (schema.nullable === true && schema.type === undefined && schema.allOf?.length === 1) {
      const target = schemas[(schema.allOf[0]?.$ref ?? '').split('/').pop() ?? ''];
      if (target?.type !== undefined) schema.type = target.type;
    }
    for (const child of Object.values(node)) typed(child);
  };
  typed(document.components);
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path as Record<string, { security?: unknown }>)) {
      if (typeof operation === 'object') delete operation.security;
    }
  }
  return document;
}
