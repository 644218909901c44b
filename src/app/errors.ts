/**
 * What kind of refusal a use case gives; the HTTP layer answers each with its status (400, 403,
 * 404, 409, 422).
 */
export type Refusal = 'invalid' | 'forbidden' | 'not-found' | 'conflict' | 'unusable';

/** A request a use case refuses, with the stable code the client sees as `{ error: { code, message } }`. */
export class RequestRefused extends Error {
  constructor(
    readonly refusal: Refusal,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RequestRefused';
  }
}
