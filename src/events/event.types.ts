/**
 * What a participant's stream carries about their dialogs. Each is stored once in dialogdb's
 * `events` log with the dialog's participants as recipients. New kinds are one more name here
 * and one more publish call where the write happens.
 */
export const DIALOG_EVENT_TYPES = ['message.created', 'message.edited', 'message.deleted', 'dialog.created', 'dialog.read'] as const;
export type DialogEventType = (typeof DIALOG_EVENT_TYPES)[number];

/**
 * `resync`: the stream cannot say what the client missed (a Last-Event-ID past the retention
 * window, or events this service lost); reload what is on screen. It is also stored in the
 * log, with the recipients whose events an instance could not publish.
 */
export const RESYNC = 'resync';
/** Caught up: what follows is live. Its id is where to resume from, even when no event came. */
export const READY = 'ready';
/** The last thing a stream says before the service ends it (a slow consumer, a shutdown). */
export const CLOSE = 'close';

export type StoredEventType = DialogEventType | typeof RESYNC;

/** An event as a write produces it, before it has an id. */
export interface NewEvent {
  type: StoredEventType;
  dialogId: string | null;
  /** The users whose streams get it: the dialog's participants. */
  recipients: Iterable<string>;
  /** The JSON body, as the REST API answers for the same thing (with its dialogId). */
  payload: object;
}

/** An event as read back from the log. */
export interface EventRow {
  id: number;
  type: StoredEventType;
  recipients: string[];
  /** The payload's JSON text, as written. */
  payload: string;
}
