// The store cannot tell yet whether a session exists: it is in the middle of an id change (regenerate,
// login) whose answer has not come back. Redis answered; the session's fate is what is unknown. The
// engine turns it into a 503 like any store failure (never "gone", which would clear the cookie), and
// failoverStore does not mistake it for an outage of the primary.

import { SessionStoreUnavailable } from '@sesame/core'

export class SessionInDoubt extends SessionStoreUnavailable {
  constructor(operation: string) {
    super(operation, { cause: new Error('the session is in the middle of an id change whose outcome is not known yet') })
    this.name = 'SessionInDoubt'
  }
}
