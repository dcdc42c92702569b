/**
 * What /readyz asks. Each dependency answers a check; a critical one failing makes the service
 * unready (no traffic), a non-critical one only degraded (the EHR: while it is down the API
 * keeps accepting, and the outbox holds the work).
 */
export interface ReadinessCheck {
  readonly name: string;
  readonly critical: boolean;
  check(signal: AbortSignal): Promise<void>;
}

interface CheckOutcome {
  readonly name: string;
  readonly status: 'up' | 'down';
  readonly critical: boolean;
  readonly ms: number;
  readonly error?: string;
}

export interface ReadinessReport {
  readonly status: 'ready' | 'degraded' | 'unready';
  readonly checks: readonly CheckOutcome[];
}

export async function runReadiness(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<ReadinessReport> {
  const outcomes = await Promise.all(checks.map((check) => runOne(check, timeoutMs)));
  const criticalDown = outcomes.some((outcome) => outcome.status === 'down' && outcome.critical);
  const anyDown = outcomes.some((outcome) => outcome.status === 'down');
  return { status: criticalDown ? 'unready' : anyDown ? 'degraded' : 'ready', checks: outcomes };
}

async function runOne(check: ReadinessCheck, timeoutMs: number): Promise<CheckOutcome> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const base = { name: check.name, critical: check.critical };
  try {
    await Promise.race([
      check.check(signal),
      new Promise<never>((_, reject) => {
        signal.addEventListener('abort', () => {
          reject(new Error(`no answer within ${timeoutMs} ms`));
        });
      }),
    ]);
    return { ...base, status: 'up', ms: Math.round(performance.now() - started) };
  } catch (error) {
    // A check that gives up because we aborted it reports its own error; the cause is the timeout.
    const message = signal.aborted
      ? `no answer within ${timeoutMs} ms`
      : error instanceof Error
        ? error.message
        : String(error);
    return { ...base, status: 'down', ms: Math.round(performance.now() - started), error: message };
  }
}
