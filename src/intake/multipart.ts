/**
 * Reading a multipart/form-data upload of one file and its JSON metadata, streamed through
 * busboy with bounds on every part: the file is collected up to its limit (one byte more is a 413,
 * never a partial file handed on), the metadata up to 64 KiB, and nothing else is kept.
 */
import { Busboy } from '@fastify/busboy';
import type { Request } from 'express';
import { badRequest, payloadTooLarge } from '../platform/problem.ts';

export interface Upload {
  /** The text of the field (or small file part) of that name. */
  readonly fields: ReadonlyMap<string, string>;
  /** File parts by name: their bytes and declared media type. */
  readonly files: ReadonlyMap<string, { readonly bytes: Uint8Array; readonly mediaType: string }>;
}

const MAX_FIELD_BYTES = 64 * 1024;

export function readUpload(req: Request, maxFileBytes: number, fileParts: readonly string[]): Promise<Upload> {
  return new Promise((resolve, reject) => {
    let busboy;
    try {
      busboy = Busboy({
        headers: req.headers as { 'content-type': string },
        limits: { files: 2, fields: 4, parts: 6, fieldSize: MAX_FIELD_BYTES, fileSize: maxFileBytes },
      });
    } catch {
      reject(badRequest('The body is not readable multipart/form-data (no boundary in its Content-Type).'));
      return;
    }
    const fields = new Map<string, string>();
    const files = new Map<string, { bytes: Uint8Array; mediaType: string }>();
    let failed: Error | undefined;
    const fail = (error: Error): void => {
      failed ??= error;
    };
    busboy.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (valueTruncated) fail(payloadTooLarge(`The part "${name}" is over ${MAX_FIELD_BYTES} bytes.`));
      else fields.set(name, value);
    });
    busboy.on('file', (name, stream, _filename, _encoding, mediaType) => {
      const limit = fileParts.includes(name) ? maxFileBytes : MAX_FIELD_BYTES;
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= limit) chunks.push(chunk);
      });
      stream.on('limit', () => {
        fail(payloadTooLarge(`The part "${name}" is over ${limit} bytes.`));
      });
      stream.on('end', () => {
        if (size > limit || stream.truncated) return;
        const bytes = Buffer.concat(chunks);
        // A small part sent as a file (e.g. curl -F 'metadata=@meta.json') is read as text.
        if (fileParts.includes(name)) files.set(name, { bytes: new Uint8Array(bytes), mediaType });
        else fields.set(name, bytes.toString('utf8'));
      });
    });
    busboy.on('error', () => {
      fail(badRequest('The body is not readable multipart/form-data (check the boundary and the parts).'));
      resolveOrReject();
    });
    busboy.on('finish', resolveOrReject);
    function resolveOrReject(): void {
      if (failed !== undefined) reject(failed);
      else resolve({ fields, files });
    }
    req.pipe(busboy);
  });
}
