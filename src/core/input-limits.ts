/** Bounds on untrusted input records (README "Security and limits"). */
export interface InputLimits {
  /** Largest input record; a larger one becomes an error event carrying its head. */
  readonly maxRecordBytes: number;
  /** Deepest nesting of arrays and objects in an input event; deeper inputs become error events. */
  readonly maxJsonDepth: number;
}
