/**
 * OpenTelemetry tracing with W3C trace context, so one trace shows a submission's whole path:
 * the POST (its traceparent extracted) → the outbox row (the trace context stored in the job's
 * payload) → the ehr-delivery worker and its EHR request (traceparent sent) → the event's outbox
 * row → the relay's publish (traceparent/tracestate as Kafka message headers).
 *
 * Off unless an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and OTEL_SDK_DISABLED is not true: then no SDK is started,
 * nothing is extracted, stored or sent, and every helper here is a plain call of its function.
 * The exporter is OTLP over HTTP and reads the rest of the standard OTEL_EXPORTER_OTLP_*
 * variables (headers, timeout, compression) itself.
 */
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';

export { SpanKind, SpanStatusCode } from '@opentelemetry/api';

/** W3C trace context as stored in an outbox row and sent as headers. */
export type TraceCarrier = {
  traceparent?: string;
  tracestate?: string;
};

export interface TracingConfig {
  readonly OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  readonly OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
  readonly OTEL_SDK_DISABLED: boolean;
  readonly OTEL_SERVICE_NAME: string;
  readonly OTEL_TRACES_SAMPLER: string;
  readonly OTEL_TRACES_SAMPLER_ARG?: number;
}

export interface RunningTracing {
  /** Exports what is buffered and stops; tracing is off again afterwards. */
  shutdown(): Promise<void>;
}

let enabled = false;

/**
 * Starts the SDK when the configuration asks for it (or a test passes its own span processors,
 * e.g. an in-memory exporter); undefined, and nothing started, otherwise. The SDK and its OTLP
 * exporter are loaded only then: they are a few hundred modules and megabytes of heap that a
 * service without tracing would carry for nothing.
 */
export async function startTracing(
  config: TracingConfig,
  options: { readonly spanProcessors?: SpanProcessor[] } = {},
): Promise<RunningTracing | undefined> {
  const endpoint = config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (config.OTEL_SDK_DISABLED || (endpoint === undefined && options.spanProcessors === undefined)) return undefined;
  const { startTracerProvider } = await import('./tracing-sdk.ts');
  const provider = startTracerProvider(config, options.spanProcessors);
  enabled = true;
  return {
    async shutdown() {
      enabled = false;
      await provider.shutdown();
    },
  };
}

const tracer = () => trace.getTracer('hit-bridge');

const setter = {
  set(carrier: Record<string, string>, key: string, value: string) {
    carrier[key] = value;
  },
};
const getter = {
  keys: (carrier: Readonly<Record<string, unknown>>) => Object.keys(carrier),
  get(carrier: Readonly<Record<string, unknown>>, key: string) {
    const value = carrier[key] ?? carrier[key.toLowerCase()];
    return typeof value === 'string' ? value : Array.isArray(value) ? (value as string[])[0] : undefined;
  },
};

/** The active trace context as traceparent/tracestate ({} when tracing is off or no span is active). */
export function currentTraceCarrier(): TraceCarrier {
  if (!enabled) return {};
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier, setter);
  return carrier;
}

/** The W3C trace context from a job payload, an event's headers or a request's headers, if any. */
export function traceCarrierOf(source: unknown): TraceCarrier {
  if (source === null || typeof source !== 'object') return {};
  const record = source as Record<string, unknown>;
  const carrier: TraceCarrier = {};
  if (typeof record.traceparent === 'string') carrier.traceparent = record.traceparent;
  if (typeof record.tracestate === 'string') carrier.tracestate = record.tracestate;
  return carrier;
}

/**
 * Runs `fn` in a new span, child of the trace context in `parent` (a stored carrier, incoming
 * headers) or, without one, of the active context. The span ends when `fn` settles, with an
 * error status if it threw. Off: just `fn`.
 */
export async function inSpan<T>(
  name: string,
  options: { kind: SpanKind; parent?: Readonly<Record<string, unknown>>; attributes?: Attributes },
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!enabled) return fn(undefined);
  const parent: Context =
    options.parent === undefined ? context.active() : propagation.extract(context.active(), options.parent, getter);
  const span = tracer().startSpan(
    name,
    { kind: options.kind, ...(options.attributes ? { attributes: options.attributes } : {}) },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * A span the caller ends itself (an HTTP request ends on 'finish'; a batch publish for many
 * events at once), with the context to run its work in and the carrier to pass on.
 */
export function startSpan(
  name: string,
  options: { kind: SpanKind; parent?: Readonly<Record<string, unknown>>; attributes?: Attributes },
): { span: Span; context: Context; carrier: TraceCarrier } | undefined {
  if (!enabled) return undefined;
  const parent =
    options.parent === undefined ? context.active() : propagation.extract(context.active(), options.parent, getter);
  const span = tracer().startSpan(
    name,
    { kind: options.kind, ...(options.attributes ? { attributes: options.attributes } : {}) },
    parent,
  );
  const spanContext = trace.setSpan(parent, span);
  const carrier: Record<string, string> = {};
  propagation.inject(spanContext, carrier, setter);
  return { span, context: spanContext, carrier };
}

/** Runs `fn` in `ctx` (a context from startSpan); off: just `fn`. */
export function runInContext<T>(ctx: Context | undefined, fn: () => T): T {
  return ctx === undefined ? fn() : context.with(ctx, fn);
}

/** Ends a span from startSpan, as failed when `error` is given. */
export function endSpan(started: { span: Span } | undefined, error?: unknown): void {
  if (started === undefined) return;
  if (error !== undefined) {
    started.span.recordException(error instanceof Error ? error : new Error('failed'));
    started.span.setStatus({ code: SpanStatusCode.ERROR });
  }
  started.span.end();
}

/** The active trace id, for log lines (undefined when off or outside a span). */
export function activeTraceId(): string | undefined {
  if (!enabled) return undefined;
  return trace.getActiveSpan()?.spanContext().traceId;
}
