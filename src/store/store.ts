/**
 * The Store port: submissions, their outbox (jobs), the status timeline, and the embedded event
 * log. Two adapters implement it — SQLite through node:sqlite (the embedded default) and
 * PostgreSQL through pg (production, many replicas) — and one contract suite
 * (test/contract/store.contract.ts) runs against both.
 *
 * The rules every adapter keeps (STYLE.md §7, "Outbox done right"):
 * - accept() writes the submission, its first job and its first timeline entry in ONE
 *   transaction: nothing is acknowledged to a caller before it is durable, and there is never a
 *   submission without its job or a job without its submission.
 * - claim() takes due jobs nobody holds (never leased, released, or with an expired lease) in a
 *   short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED), sets a lease (owner + expiry) and
 *   increments attempts; the caller then does its I/O (EHR, Kafka) OUTSIDE any transaction Its
 *   commit does not wait for the disk: a claim a power loss undoes is a lease the process that
 *   died with it held, so the jobs are simply claimable again (docs/adr/0036-relay-commits-without-flush.md).
 * - complete()/completeAll()/retryLater()/fail() are fenced on the lease: they change nothing and return false
 *   when the caller no longer holds the job's lease (it expired and someone else took it).
 * - reapExpiredLeases() makes jobs whose holder died claimable again.
 * - readUnderQueueLease() is the other way to take jobs, for a queue one worker holds whole (the
 *   event relay's): a lease on the queue, the due jobs read without a write to their rows, and the
 *   finishing calls fenced on the queue's lease (docs/adr/0059-the-relay-leases-the-queue-not-each-row.md).
 * - Times are passed in (`now`), never read inside, so tests control the clock.
 * - The audit log is append-only: the port has no way to change or remove an entry, and each
 *   adapter's schema refuses UPDATE and DELETE on it with a trigger (PostgreSQL: TRUNCATE too).
 * - erasePersonalData() (retention) replaces a finished submission's body with null and marks
 *   when; everything else — status, timeline, EHR references, body hash, audit — stays.
 */
import type { SubmissionKind } from '../kinds/kinds.ts';

export type SubmissionStatus = 'accepted' | 'delivered' | 'failed';
/**
 * ehr-delivery: a submission to the EHR; event-publish: an event to the bus; handover: a
 * discharge's packets (gathered from the EHR, built, published, the referral Task created);
 * handover-task: an acknowledgement's change to the referral Task in the EHR.
 */
export type QueueName = 'ehr-delivery' | 'event-publish' | 'handover' | 'handover-receipt' | 'handover-task';

export interface NewSubmission {
  /** UUID chosen by the caller. */
  readonly id: string;
  readonly kind: SubmissionKind;
  readonly source: string;
  /** sessionId / testId / prescriptionId / dischargeId. */
  readonly inputId: string;
  /** Scoped to the source: another source's identical key is another request (and never reveals its submission). */
  readonly idempotencyKey?: string | undefined;
  /** SHA-256 (hex) of the canonical request body: tells "the same request again" from "another one". */
  readonly bodyHash: string;
  /** The validated input, stored until retention erases it. */
  readonly body: unknown;
  /** HMAC of the national id (never the id itself): the Kafka key and the link between a patient's records. */
  readonly patientKey: string;
  readonly acceptedAt: Date;
}

export interface Submission {
  readonly id: string;
  readonly kind: SubmissionKind;
  readonly source: string;
  readonly inputId: string;
  readonly idempotencyKey: string | undefined;
  readonly bodyHash: string;
  /** The validated input; null once retention erased it (bodyErasedAt says when). */
  readonly body: unknown;
  readonly patientKey: string;
  readonly status: SubmissionStatus;
  /** When retention erased the body (the personal data); undefined while it is kept. */
  readonly bodyErasedAt: Date | undefined;
  readonly acceptedAt: Date;
  readonly updatedAt: Date;
  /** What the EHR answered with once delivered: e.g. ["Procedure/123/_history/1", …]. */
  readonly ehrReferences: readonly string[];
}

export type AcceptOutcome =
  /** New: stored with its first job. */
  | { readonly outcome: 'created'; readonly submission: Submission }
  /** The same request again (same source + kind + input id, or same source + idempotency key, with the same body): nothing new. */
  | { readonly outcome: 'existing'; readonly submission: Submission }
  /** Same source + idempotency key, or same source + kind + input id, but a different body: refused (409). */
  | { readonly outcome: 'conflict'; readonly existing: Submission; readonly reason: 'idempotency-key' | 'input-id' };

export type TimelineKind =
  | 'accepted'
  | 'ehr-attempt'
  | 'delivered'
  | 'event-published'
  | 'failed'
  | 'replayed'
  | 'erased'
  | 'note'
  | 'handover-started'
  | 'handover-attempt'
  | 'packet-sent'
  | 'packet-omitted'
  | 'task-created'
  | 'acknowledged'
  | 'receipt'
  | 'overdue';

export interface TimelineEntry {
  readonly at: Date;
  readonly kind: TimelineKind;
  /** One plain sentence for a person following the submission. */
  readonly message: string;
  /** Structured detail: HTTP status, OperationOutcome text, EHR ids, topic/partition/offset, attempt number… */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface NewJob {
  readonly queue: QueueName;
  readonly submissionId: string;
  readonly payload: unknown;
  readonly runAt: Date;
}

export interface Job {
  readonly id: string;
  readonly queue: QueueName;
  readonly submissionId: string;
  readonly payload: unknown;
  /** Including the current claim. */
  readonly attempts: number;
  readonly runAt: Date;
  readonly leaseOwner: string;
  readonly leaseExpiresAt: Date;
  readonly createdAt: Date;
}

/** What completing or failing a job also changes, in the same transaction. */
export interface JobEffects {
  readonly timeline?: readonly TimelineEntry[];
  readonly status?: SubmissionStatus;
  readonly ehrReferences?: readonly string[];
  /** Follow-on jobs, e.g. the event to publish once the EHR has the record. */
  readonly enqueue?: readonly NewJob[];
  /** A discharge's handover: when its packets went out and the referral Task the EHR holds. */
  readonly handover?: { readonly packetsSentAt: Date; readonly taskReference?: string | undefined };
}

/** The acknowledgement statuses a municipality may set on the referral Task (docs/reference/terminology.md §7). */
export type HandoverAckStatus = 'accepted' | 'rejected' | 'in-progress' | 'on-hold' | 'failed' | 'completed';

/** Where one discharge's handover is (one row per discharge submission, created once). */
export interface HandoverState {
  readonly submissionId: string;
  readonly startedAt: Date;
  /** When the packets were published (and the Task created); unset while still gathering. */
  readonly packetsSentAt: Date | undefined;
  /** The referral Task in the EHR, e.g. "Task/123". */
  readonly taskReference: string | undefined;
  /** The municipality's latest answer. */
  readonly acknowledgement: { readonly status: HandoverAckStatus; readonly at: Date } | undefined;
  /** When the handover.overdue event was raised (once). */
  readonly overdueAt: Date | undefined;
}

/** Timeline entries and jobs written together with a handover change. */
export interface HandoverEffects {
  readonly timeline?: readonly TimelineEntry[];
  readonly enqueue?: readonly NewJob[];
}

/** How durable a complete() or completeAll() must be before it resolves (default: on disk). */
interface CompletionOptions {
  readonly waitForDisk?: boolean;
}

/**
 * A timeline entry kept on the finished job's own row rather than in the timeline's table: it
 * rides on the update that completes the job, where an entry of its own is one more row and two
 * more index entries (docs/adr/0060-the-relay-notes-a-publish-on-the-job-not-the-timeline.md).
 * Its time is the completion's. The submission's timeline shows it as any other entry.
 */
type CompletionNote = Omit<TimelineEntry, 'at'>;

/** One job of a completeAll() batch, with what completing it also changes. */
interface JobCompletion {
  readonly job: Job;
  readonly effects: JobEffects;
  /** Kept only if the job is completed (not when its fence fails), like the effects. */
  readonly note?: CompletionNote;
}

/** One record of the embedded event log (the EventBus when no Kafka is configured). */
export interface LogRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface StoredLogRecord extends LogRecord {
  /** Per topic, strictly increasing from 0 without gaps, and committed in offset order (no n+1 visible before n). */
  readonly offset: number;
  readonly appendedAt: Date;
}

export interface EventLog {
  /** Appends in order; returns the offsets given, in the same order. */
  append(records: readonly LogRecord[], now: Date): Promise<number[]>;
  /** Records of one topic with offset >= fromOffset, in offset order, at most `limit`. */
  read(topic: string, fromOffset: number, limit: number): Promise<StoredLogRecord[]>;
  /** The next offset a consumer group should read (0 when it has never committed). */
  committedOffset(group: string, topic: string): Promise<number>;
  commitOffset(group: string, topic: string, nextOffset: number): Promise<void>;
}

/**
 * One call to the HTTP API, as the audit log keeps it: who, what, when, with what outcome — and
 * nothing the caller sent (no body, no raw URL, no query string): no personal data.
 */
export interface AuditEntry {
  readonly at: Date;
  /** The authenticated client (the token's client id), or 'anonymous' when authentication is off. */
  readonly clientId: string;
  readonly method: string;
  /** The route's template, e.g. /v1/submissions/:id — never the URL as sent. */
  readonly route: string;
  /** The HTTP status answered. */
  readonly status: number;
  /** The submission the call created or read, when there is one. */
  readonly submissionId?: string | undefined;
  readonly requestId: string;
}

export interface StoredAuditEntry extends AuditEntry {
  /** Increasing in the order entries were written (a cursor for reading on). */
  readonly seq: number;
}

interface AuditQuery {
  /** Entries at or after this time. */
  readonly since?: Date | undefined;
  readonly submissionId?: string | undefined;
  /** Entries after this seq (the last one of the previous page). */
  readonly afterSeq?: number | undefined;
  readonly limit: number;
}

/** Which finished submissions have kept their personal data long enough (times computed by the caller). */
export interface RetentionCutoffs {
  /** Delivered submissions whose delivery finished (no job left) at or before this. */
  readonly deliveredBefore: Date;
  /** Failed submissions (kept longer, for replay) that failed at or before this. */
  readonly failedBefore: Date;
  /** At most this many per call (short transactions; call again while it returns a full batch). */
  readonly limit: number;
}

/**
 * Which submissions a listing, a count or a bulk replay is about. Every field set narrows the
 * set; none set means all. The failure fields look at the submission's last 'failed' timeline
 * entry (its detail's reason and httpStatus, its message).
 */
export interface SubmissionFilter {
  readonly status?: SubmissionStatus | undefined;
  readonly kind?: SubmissionKind | undefined;
  readonly source?: string | undefined;
  /** Accepted at or after this time. */
  readonly since?: Date | undefined;
  /** Accepted before this time. */
  readonly until?: Date | undefined;
  /** The pseudonymous patient key (never a national id). */
  readonly patientKey?: string | undefined;
  /** Failed for this reason (FailureReason). */
  readonly failureReason?: string | undefined;
  /** Failed with the EHR answering this HTTP status. */
  readonly ehrStatus?: number | undefined;
  /** The last failure's text (the EHR's own words among them) contains this, ignoring case. */
  readonly errorText?: string | undefined;
}

/**
 * Why a submission failed for good, as structure (the timeline message is for people):
 * ehr-refused — the EHR answered with a refusal that a retry cannot change; ehr-unreachable — it
 * could not be reached until the retry horizon; prescription-missing — a session's prescription
 * never reached the EHR. A failure recorded before reasons were kept lists as 'unrecorded'.
 */
export type FailureReason = 'ehr-refused' | 'ehr-unreachable' | 'prescription-missing';

/** The reasons a failed submission is listed and counted by: FailureReason and 'unrecorded'. */
export const FAILURE_REASONS = [
  'ehr-refused',
  'ehr-unreachable',
  'prescription-missing',
  'unrecorded',
] as const satisfies readonly (FailureReason | 'unrecorded')[];

/** Where a listing page ends: the next page starts after it (newest first: accepted_at, then id, descending). */
export interface SubmissionCursor {
  readonly acceptedAt: Date;
  readonly id: string;
}

/** One row of the message browser: where a submission is, never what it says. */
export interface SubmissionListItem {
  readonly id: string;
  readonly kind: SubmissionKind;
  readonly source: string;
  readonly inputId: string;
  readonly status: SubmissionStatus;
  readonly acceptedAt: Date;
  readonly updatedAt: Date;
  /** For a failed submission: why (its last failure's reason; 'unrecorded' for old ones). */
  readonly failureReason: string | undefined;
}

export interface SubmissionSummary {
  /** Submissions per kind and status (only the pairs that occur). */
  readonly counts: readonly {
    readonly kind: SubmissionKind;
    readonly status: SubmissionStatus;
    readonly count: number;
  }[];
  /** Failed submissions per failure reason. */
  readonly failedByReason: readonly { readonly reason: string; readonly count: number }[];
  /** When the oldest submission still on its way (status accepted) was accepted; undefined when none is. */
  readonly oldestUndeliveredAcceptedAt: Date | undefined;
}

export type BulkReplayOutcome =
  /** Every matching failed submission was re-queued (the count may be 0). */
  | { readonly outcome: 'replayed'; readonly count: number }
  /** More matched than the maximum: nothing was re-queued. */
  | { readonly outcome: 'too-many'; readonly count: number };

/** How far one bulk replay got: its submissions by their status now. */
export type ReplayProgress = Readonly<Record<SubmissionStatus, number>>;

/** Submissions: accepted inputs, their timelines, the message browser, replay and retention. */
export interface SubmissionStore {
  accept(submission: NewSubmission, firstJob: Omit<NewJob, 'submissionId'>): Promise<AcceptOutcome>;
  getSubmission(id: string): Promise<Submission | undefined>;
  /** The submission of this kind with this input id from this source (input ids are unique per source and kind). */
  findSubmission(source: string, kind: SubmissionKind, inputId: string): Promise<Submission | undefined>;
  /**
   * Its entries by time: those written to the timeline and the notes its finished jobs carry
   * (CompletionNote); at the same instant, the written ones first, each kind in the order written.
   */
  timeline(submissionId: string): Promise<TimelineEntry[]>;
  /**
   * One patient's submissions of these kinds accepted at or after `since`, oldest first
   * (accepted_at, then id), with their bodies (null where retention erased them). By the
   * pseudonymous patient key, never a national id. The handover reads a stay's records with it
   * when the EHR does not hold them (docs/adr/0028-handover-facts-from-the-store-under-dips-arena.md).
   */
  patientSubmissions(patientKey: string, kinds: readonly SubmissionKind[], since: Date): Promise<Submission[]>;
  /** Adds entries outside a job's completion (e.g. an EHR attempt that will be retried). */
  appendTimeline(submissionId: string, entries: readonly TimelineEntry[]): Promise<void>;
  /**
   * Re-queues a failed submission (the `replay` command): a new delivery job, status back to
   * accepted. False when it is not failed, or when retention has erased its body (nothing to send).
   */
  replay(submissionId: string, now: Date): Promise<boolean>;
  /**
   * The message browser: submissions matching the filter, newest first (accepted_at, then id,
   * descending: a stable order), after the cursor, at most `limit`. Keyset paging: a submission
   * accepted while a caller pages never shifts a page, so none is listed twice or skipped.
   */
  listSubmissions(
    filter: SubmissionFilter,
    page: { after?: SubmissionCursor | undefined; limit: number },
  ): Promise<SubmissionListItem[]>;
  summarizeSubmissions(): Promise<SubmissionSummary>;
  /** How many submissions a bulk replay with this filter would re-queue (failed ones whose body is kept). */
  countReplayable(filter: SubmissionFilter): Promise<number>;
  /**
   * Bulk replay, in ONE transaction: every failed submission matching the filter whose body is
   * kept is re-queued as replay() does, its 'replayed' entry naming `replayId` — unless more than
   * `maximum` match, in which case nothing changes and the count says how many did.
   */
  replayMatching(
    filter: SubmissionFilter,
    options: { readonly replayId: string; readonly maximum: number; readonly now: Date },
  ): Promise<BulkReplayOutcome>;
  /** The submissions of one bulk replay by their status now; undefined when no submission names it. */
  replayProgress(replayId: string): Promise<ReplayProgress | undefined>;
  /**
   * Retention: erases the body of finished submissions past their cutoff (delivered with no job
   * left, or failed), records an 'erased' timeline entry, and returns their ids. Idempotent and
   * safe from several replicas at once (each submission is erased by exactly one of them).
   */
  erasePersonalData(cutoffs: RetentionCutoffs, now: Date): Promise<string[]>;
}

/**
 * The outbox: jobs on named queues, claimed under a lease and finished under that lease's fence,
 * each finish applying its effects on the submission in the same transaction.
 */
export interface JobQueue {
  claim(queue: QueueName, owner: string, options: { now: Date; leaseMs: number; limit: number }): Promise<Job[]>;
  /**
   * A queue read by one holder at a time (docs/adr/0059-the-relay-leases-the-queue-not-each-row.md):
   * takes the queue's lease for `owner` if it is free or expired, or renews it once half of it has
   * run, and returns up to `limit` due jobs that are not leased in their rows and not in `skip`
   * (those the holder has in hand), earliest run_at first; [] while another owner holds the lease.
   * The jobs are read, not written: each comes as if claimed (leaseOwner `owner`, leaseExpiresAt the
   * queue lease's end, attempts + 1), and complete/completeAll/retryLater/fail fence it on the
   * queue's lease instead of its row's. Only retryLater writes the attempt, so one that a crash
   * cut short is not counted. Its commit does not wait for the disk (as a claim's).
   */
  readUnderQueueLease(
    queue: QueueName,
    owner: string,
    options: { now: Date; leaseMs: number; limit: number; skip: readonly string[] },
  ): Promise<Job[]>;
  /** Gives up the queue's lease if `owner` holds it, so that another worker can take the queue at once. */
  releaseQueueLease(queue: QueueName, owner: string): Promise<void>;
  /**
   * With `waitForDisk: false` the commit need not wait for the disk: a power loss may undo it, and
   * the job is then done again — only for work whose repeat is harmless (an EHR delivery, whose
   * repeat creates nothing new). An adapter whose wait holds none of the service's threads (a
   * PostgreSQL server flushing its WAL) may wait anyway.
   */
  complete(job: Job, effects: JobEffects, now: Date, options?: CompletionOptions): Promise<boolean>;
  /**
   * complete() for a batch in ONE transaction (one commit, so one disk flush instead of one per
   * job): each job is fenced on its own lease, and the answer says, in order, which were completed.
   * With `waitForDisk: false` the commit does not wait for the disk: a power loss may undo it
   * (all of it), and the jobs are then done again — only for work whose repeat is harmless.
   */
  completeAll(items: readonly JobCompletion[], now: Date, options?: CompletionOptions): Promise<boolean[]>;
  retryLater(job: Job, runAt: Date, effects: JobEffects, now: Date): Promise<boolean>;
  fail(job: Job, effects: JobEffects, now: Date): Promise<boolean>;
  reapExpiredLeases(now: Date): Promise<number>;
  /** Jobs not yet done, per queue, and the age of the oldest (for /metrics). */
  backlog(now: Date): Promise<Readonly<Record<QueueName, { count: number; oldestAgeMs: number }>>>;
}

/** A discharge's handover: started once, its packets sent, the municipality's answer or its silence. */
export interface HandoverStore {
  /**
   * Starts a discharge's handover exactly once: inserts its state row and, only if there was
   * none, the effects (the handover job, a timeline entry). False when it had already started:
   * a redelivered discharge event does nothing.
   */
  beginHandover(submissionId: string, effects: HandoverEffects, now: Date): Promise<boolean>;
  getHandover(submissionId: string): Promise<HandoverState | undefined>;
  /** Records the municipality's answer with its effects; false when the handover's packets were never sent. */
  acknowledgeHandover(
    submissionId: string,
    ack: { readonly status: HandoverAckStatus; readonly at: Date },
    effects: HandoverEffects,
    now: Date,
  ): Promise<boolean>;
  /** Handovers with a referral Task sent at or before `sentBefore`, never acknowledged, not yet marked overdue; oldest first. */
  overdueHandovers(sentBefore: Date, limit: number): Promise<HandoverState[]>;
  /** Marks one overdue with its effects (the event), only if still unanswered and unmarked: true once. */
  markHandoverOverdue(submissionId: string, effects: HandoverEffects, now: Date): Promise<boolean>;
  /**
   * Handovers waiting for the Frisklivssentral's answer (for /metrics): packets sent with a
   * referral Task (so the Frisklivssentral got one: it consented) and no acknowledgement of any
   * status yet. Overdue ones still count — they are still unanswered; a handover without a Task
   * (no consent for the Frisklivssentral) has nobody to answer, and one that failed sent nothing.
   */
  handoversAwaitingAcknowledgement(): Promise<number>;
}

export interface AuditLog {
  /** Appends one entry to the audit log. There is no way to change or remove one. */
  recordAudit(entry: AuditEntry): Promise<void>;
  /** Audit entries matching the query, oldest first. */
  auditTrail(query: AuditQuery): Promise<StoredAuditEntry[]>;
}

/** The port: every concern above, the event log (the Kafka stand-in), and the schema's life. */
export interface Store extends SubmissionStore, JobQueue, HandoverStore, AuditLog {
  /** Creates the schema or brings it up to date (versioned migrations; never loses data). */
  migrate(): Promise<void>;

  readonly log: EventLog;

  /** For /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
