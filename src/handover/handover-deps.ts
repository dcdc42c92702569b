/** What the handover role's loops share: its ports, its policies and its clock. */
import type { Ehr } from '../delivery/ehr.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { EventValidator } from '../events/event-validator.ts';
import type { InputValidator } from '../contracts/input-validator.ts';
import type { Logger } from '../platform/logger.ts';
import type { Metrics } from '../platform/metrics.ts';
import type { RetryPolicy } from '../platform/retry.ts';
import type { Store } from '../store/store.ts';
import type { HandoverChannel } from './channels/channel.ts';
import type { FactsSource } from './facts-source.ts';
import type { RecipientDirectory } from './recipient-directory.ts';
import type { ChannelName, HandoverFacts } from './types.ts';
import type { JobSignals } from '../store/job-signals.ts';

export interface HandoverWorkerDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly ehr: Ehr;
  /** Where the facts come from: the EHR, or hit-bridge's store (facts-source.ts; chosen by EHR_PROFILE). */
  readonly facts: FactsSource;
  /** One adapter per way in that is configured; a recipient whose channel is missing gets the event stream alone. */
  readonly channels: Readonly<Partial<Record<ChannelName, HandoverChannel>>>;
  readonly directory: RecipientDirectory;
  readonly hospitalContact: HandoverFacts['hospitalContact'] | undefined;
  readonly eventValidator: EventValidator;
  readonly inputValidator: InputValidator;
  readonly retryPolicy: RetryPolicy;
  /**
   * How often a sent message's receipt is asked for: from the first delay, growing to the cap.
   * Its horizon is the acknowledgement timeout: past it, the overdue path speaks.
   */
  readonly receiptPolling: { readonly firstMs: number; readonly maxMs: number };
  /** A discharge is delivered when its handover is made, and failed when it cannot be: counted like any submission. */
  readonly metrics: Pick<Metrics, 'handoverOverdue' | 'submissionDelivered' | 'submissionFailed'>;
  readonly consumerGroup: string;
  readonly statusTopic: string;
  readonly ackTimeoutMs: number;
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly owner: string;
  readonly leaseMs?: number;
  /** How often overdue handovers are looked for; default min(a quarter of the timeout, 1 minute). */
  readonly overdueCheckMs?: number;
  /** Overdue handovers handled per check, oldest first (default 100), beyond those that keep failing. */
  readonly overdueBatchSize?: number;
  readonly idleMs?: number;
  /** The longest pause of an idle queue's loop (default four times `idleMs`). */
  readonly maxIdleMs?: number;
  /** This process's own new handover jobs, taken at once rather than at the next poll (src/store/job-signals.ts). */
  readonly signals?: JobSignals;
}
