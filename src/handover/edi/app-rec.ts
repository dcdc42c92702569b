/**
 * The application receipt (AppRec 1.0 and 1.1): the receiving system's answer to one e-message.
 * Status 1 "OK" (taken in), 2 "Avvist" (refused, with error codes), 3 "OK, feil i delmelding"
 * (taken in, a part with errors). The status values are those of the vendored KITH samples
 * (third_party/kith-xsd/examples/app-rec/); the error codes are read as they come (code system
 * in S, e.g. 2.16.578.1.12.4.1.1.8221), never interpreted from their text.
 *
 * Pure: XML text in, a typed receipt or the reason it is not one out. A receipt we cannot read
 * is never taken for an OK: the caller keeps waiting (and reaches the overdue path) instead.
 */
import { XMLParser } from 'fast-xml-parser';
import { SyntaxValidator } from 'fast-xml-validator';
import { NAMESPACES } from './kith-codes.ts';
import type { Result } from '../../domain/result.ts';

type AppRecOutcome = 'ok' | 'rejected' | 'ok-with-errors';

interface AppRecError {
  /** V: the error code, e.g. "E21". */
  readonly code: string;
  /** DN: the code's meaning as the receiver wrote it. */
  readonly text?: string;
  /** S: the code system's OID. */
  readonly system?: string;
  /** OT: the receiver's own words, or which part of the message the error is about. */
  readonly detail?: string;
}

interface AppRec {
  readonly version: '1.0' | '1.1';
  readonly id: string;
  readonly generatedAt: string;
  readonly outcome: AppRecOutcome;
  readonly status: { readonly code: string; readonly text?: string };
  readonly errors: readonly AppRecError[];
  /** The message this receipt answers. */
  readonly originalMsgId: string;
  readonly originalMsgType?: string;
  /** The receipt's sender (the receiving organisation), as it names itself. */
  readonly sender?: { readonly name?: string; readonly id?: string; readonly idType?: string };
}

export type AppRecReading = Result<AppRec>;

const OUTCOME_BY_STATUS: Readonly<Record<string, AppRecOutcome>> = {
  '1': 'ok',
  '2': 'rejected',
  '3': 'ok-with-errors',
};

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => name === 'Error',
});

type Tree = { readonly [key: string]: unknown };

function tree(value: unknown): Tree | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Tree) : undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  const node = tree(value);
  const inner = node?.['#text'];
  return typeof inner === 'string' && inner !== '' ? inner : undefined;
}

function attribute(value: unknown, name: string): string | undefined {
  const found = tree(value)?.[name];
  return typeof found === 'string' && found !== '' ? found : undefined;
}

export function parseAppRec(xml: string): AppRecReading {
  // A receipt never needs a DOCTYPE; one could declare entities meant to blow up or reach out.
  if (/<!DOCTYPE|<!ENTITY/iu.test(xml)) return { ok: false, reason: 'a DOCTYPE or entity declaration' };
  // The parser is lenient (a receipt cut short parses to less); the validator is not.
  try {
    SyntaxValidator.validate(xml);
  } catch {
    return { ok: false, reason: 'not well-formed XML' };
  }
  const root = tree((parser.parse(xml) as Tree).AppRec);
  if (root === undefined) return { ok: false, reason: 'the document is not an AppRec' };
  const namespace = attribute(root, 'xmlns');
  const version = namespace === NAMESPACES.appRec11 ? '1.1' : namespace === NAMESPACES.appRec10 ? '1.0' : undefined;
  if (version === undefined) return { ok: false, reason: `unknown AppRec namespace ${String(namespace)}` };
  const migVersion = text(root.MIGversion);
  if (migVersion === undefined) return { ok: false, reason: 'MIGversion is missing' };
  // The samples' 1.0 receipts say "1.0 2004-11-21" and "1.0 2008-11-21": the version number is
  // what must agree with the namespace, not the date.
  if (!(version === '1.1' ? /^v?1\.1\s/u : /^v?1\.0\s/u).test(migVersion)) {
    return { ok: false, reason: `MIGversion "${migVersion}" does not match the AppRec ${version} namespace` };
  }
  const statusCode = attribute(root.Status, 'V');
  const outcome = statusCode === undefined ? undefined : OUTCOME_BY_STATUS[statusCode];
  if (statusCode === undefined || outcome === undefined) {
    return {
      ok: false,
      reason: `unknown AppRec status ${String(statusCode)} ("${attribute(root.Status, 'DN') ?? ''}")`,
    };
  }
  const id = text(root.Id);
  const generatedAt = text(root.GenDate);
  const original = tree(root.OriginalMsgId);
  const originalMsgId = text(original?.Id);
  if (id === undefined || generatedAt === undefined || originalMsgId === undefined) {
    return { ok: false, reason: 'Id, GenDate and OriginalMsgId/Id are required' };
  }
  const errors = (Array.isArray(root.Error) ? root.Error : []).flatMap((error: unknown): AppRecError[] => {
    const code = attribute(error, 'V');
    if (code === undefined) return [];
    const [textDn, system, detail] = [attribute(error, 'DN'), attribute(error, 'S'), attribute(error, 'OT')];
    return [
      {
        code,
        ...(textDn === undefined ? {} : { text: textDn }),
        ...(system === undefined ? {} : { system }),
        ...(detail === undefined ? {} : { detail }),
      },
    ];
  });
  if (outcome !== 'ok' && errors.length === 0) {
    return { ok: false, reason: `an AppRec with status ${statusCode} must name at least one error` };
  }
  const inst = tree(tree(tree(root.Sender)?.HCP)?.Inst);
  const statusText = attribute(root.Status, 'DN');
  const originalMsgType = attribute(original?.MsgType, 'V');
  const senderName = text(inst?.Name);
  const senderId = text(inst?.Id);
  const senderIdType = attribute(inst?.TypeId, 'V');
  return {
    ok: true,
    value: {
      version,
      id,
      generatedAt,
      outcome,
      status: { code: statusCode, ...(statusText === undefined ? {} : { text: statusText }) },
      errors,
      originalMsgId,
      ...(originalMsgType === undefined ? {} : { originalMsgType }),
      ...(inst === undefined
        ? {}
        : {
            sender: {
              ...(senderName === undefined ? {} : { name: senderName }),
              ...(senderId === undefined ? {} : { id: senderId }),
              ...(senderIdType === undefined ? {} : { idType: senderIdType }),
            },
          }),
    },
  };
}
